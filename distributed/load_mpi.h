// Opens the MPI communicator: loads the module built from
// distributed/mpi_communicator.cpp ($GRADCORE_MPI_MODULE, else where the
// build wrote it) and initialises MPI. Only `train --distributed mpi` calls
// it, so a gradcore binary that does not train on MPI never maps libmpi
// (measured in docs/DISTRIBUTED.md).
#pragma once

#include <memory>

#include "distributed/communicator.h"

namespace gc::distributed {

// Collective calls that wait longer than timeout_seconds throw
// CommunicationError. Throws std::runtime_error when the module cannot load.
std::unique_ptr<Communicator> open_mpi(double timeout_seconds);

}  // namespace gc::distributed
