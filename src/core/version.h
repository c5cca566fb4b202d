// The version of Cubist (CMake's project version), as recorded in generated videos' provenance
// and printed by `cubist --version`.
#pragma once

namespace cubist {

const char* version();

}  // namespace cubist
