// shardnode: chooses the mode this process runs in, from the command line
// alone, then wires and runs only that mode: the data node (data_node.h),
// or -- with --sentinel or as redis-sentinel -- Sentinel (sentinel_node.h).
// Command line as redis-server: [config-file] [--name value...].
#include <iostream>

#include "node/app/data_node.h"
#include "node/app/mode.h"
#include "node/app/sentinel_node.h"

namespace shardnode::node {
namespace {

int Run(int argc, char** argv) {
  switch (ChooseInformational(argc, argv)) {
    case Informational::kVersion:
      std::cout << VersionText();
      return 0;
    case Informational::kHelp:
      std::cerr << UsageText(argv[0]);
      return 1;
    case Informational::kTestMemory:
      std::cerr << TestMemoryText();
      return 1;
    case Informational::kNone:
      break;
  }
  switch (ChooseMode(argc, argv)) {
    case Mode::kDataNode:
      return RunDataNode(argc, argv);
    case Mode::kSentinel:
      return RunSentinel(argc, argv);
  }
  return 1;
}

}  // namespace
}  // namespace shardnode::node

int main(int argc, char** argv) {
  try {
    return shardnode::node::Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "Fatal: " << e.what() << std::endl;
    return 1;
  }
}
