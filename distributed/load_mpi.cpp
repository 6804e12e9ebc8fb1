#include "distributed/load_mpi.h"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace gc::distributed {

std::unique_ptr<Communicator> open_mpi(double timeout_seconds) {
  const char* path = std::getenv("GRADCORE_MPI_MODULE");
#if defined(GRADCORE_MPI_MODULE)
  if (!path) path = GRADCORE_MPI_MODULE;
#endif
  if (!path)
    throw std::runtime_error("--distributed mpi: this gradcore was built without MPI (install libopenmpi-dev and "
                             "rebuild, or set GRADCORE_MPI_MODULE)");
  // RTLD_GLOBAL: OpenMPI opens its own plugins, which look for libmpi's symbols.
  void* module = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!module)
    throw std::runtime_error(std::string("--distributed mpi: cannot load ") + path + ": " + dlerror() +
                             " (install openmpi-bin and libopenmpi-dev)");
  using Entry = Communicator* (*)(double);
  auto entry = reinterpret_cast<Entry>(dlsym(module, "gradcore_open_mpi"));
  if (!entry) throw std::runtime_error(std::string("--distributed mpi: ") + path + " has no gradcore_open_mpi");
  return std::unique_ptr<Communicator>(entry(timeout_seconds));
}

}  // namespace gc::distributed
