// Command-line entry points for Shapes World: `cubist data shapes` (generate a dataset) and
// `cubist eval` (check videos against captions). argv[0] is the subcommand's own name and the
// options follow, as for main(); both return the process exit status.
#pragma once

// cubist data shapes --out DIR [--clips N] [--sizes 64x64,96x64] [--frames 1,9,17,33]
//                    [--seed S] [--format mp4|png|webm|gif]
// Exit status: 0 all clips written; 1 some clips could not be written (the others are, and the
// manifest lists them); 2 bad options (nothing is written; every problem is listed).
int cmd_data_shapes(int argc, char** argv);

// cubist eval --video V --caption "..."   prints the checker's JSON for one clip
// cubist eval --manifest M [--quiet]       one JSON line per clip, then {"summary": ...}
// Exit status: 0 every clip was checked (whether or not it passed); 1 some clip could not be
// read or its caption is outside the grammar (the rest are still checked); 2 bad options.
int cmd_eval(int argc, char** argv);
