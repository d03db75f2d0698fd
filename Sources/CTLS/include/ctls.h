// OpenSSL 3.0 for Swift: the library headers plus one-line wrappers for the
// macros Swift cannot import, and the kernel TLS (kTLS) socket options.
#pragma once
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
