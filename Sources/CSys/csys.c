#define _GNU_SOURCE
#include "csys.h"
