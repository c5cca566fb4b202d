#include "core/version.h"

#ifndef CUBIST_VERSION
#define CUBIST_VERSION "unknown"
#endif

namespace cubist {

const char* version() { return CUBIST_VERSION; }

}  // namespace cubist
