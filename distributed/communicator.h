// The collective operations data-parallel training needs, among the N
// processes (ranks) of one job. The one implementation is MPI's
// (distributed/mpi_communicator.cpp), built as a module that the gradcore
// binary loads only for `train --distributed mpi` (distributed/load_mpi.h),
// so nothing else needs MPI at run time.
//
// Every call is collective: all ranks make the same calls in the same order.
// A rank that dies or stops answering makes the waiting ones throw
// CommunicationError after the timeout given at open, rather than hang.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace gc::distributed {

struct CommunicationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks of this job on this machine (they share its cores).
  virtual int local_size() const = 0;

  // Root's `bytes` bytes at `data` are copied to `data` on every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;

  // Starts summing `count` floats at `data` over the ranks, in place; the
  // result is there once wait(handle) returns. Every rank gets the same bits:
  // the terms are added in rank order 0, 1, …, N−1, whatever the network
  // does, so a run is reproducible for a given N.
  virtual int start_sum(float* data, size_t count) = 0;
  virtual void wait(int handle) = 0;
  // Lets started sums advance (MPI progresses only inside its calls).
  virtual void poll() = 0;

  // A blocking sum of doubles in rank order (counts, losses).
  virtual void sum(double* data, size_t count) = 0;

  // Ends every rank of the job with `code`; does not return.
  [[noreturn]] virtual void abort(int code) = 0;
};

}  // namespace gc::distributed
