// `cubist data index`: see cmd_data_index.cpp. argv[0] is "index"; returns the exit code.
#pragma once

int cmd_data_index(int argc, char** argv);
