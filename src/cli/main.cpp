// The `cubist` command line: one subcommand per job.
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.h"

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::printf("usage: cubist <command> [options]\n");
    return argc < 2 ? 2 : 0;
  }
  std::fprintf(stderr, "cubist: unknown command '%s'\n", argv[1]);
  return 2;
}
