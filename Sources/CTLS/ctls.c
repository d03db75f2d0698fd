#include "ctls.h"
