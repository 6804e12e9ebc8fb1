// Communicator over MPI (Debian's OpenMPI), compiled into a module that
// distributed/load_mpi.cpp opens with dlopen: only `train --distributed mpi`
// maps libmpi.
//
// The float sum is the bandwidth-optimal allreduce written as two MPI
// collectives, with the additions done here in a fixed order:
//   1. Ialltoall: the vector is cut into N equal segments; rank j receives
//      segment j of every rank (a reduce-scatter's traffic);
//   2. rank j adds its N copies of segment j in rank order 0, 1, …, N−1;
//   3. Iallgather: every rank receives every summed segment.
// Each rank sends and receives 2·(N−1)/N of the vector, as a ring allreduce
// does, and every rank ends with the same bits. MPI_Allreduce itself leaves
// the order of additions to the library (it may change with message size or
// N, and may differ between ranks), and float addition is not associative.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "distributed/communicator.h"

namespace gc::distributed {
namespace {

using Clock = std::chrono::steady_clock;

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout_seconds) : timeout_(timeout_seconds) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void broadcast(void* data, size_t bytes, int root) override {
    constexpr size_t kChunk = size_t{1} << 30;  // MPI counts are int
    for (size_t done = 0; done < bytes; done += kChunk) {
      MPI_Request request;
      check(MPI_Ibcast(static_cast<char*>(data) + done, static_cast<int>(std::min(kChunk, bytes - done)), MPI_BYTE,
                       root, MPI_COMM_WORLD, &request),
            "MPI_Ibcast");
      wait_for(request, "the broadcast from rank " + std::to_string(root));
    }
  }

  int start_sum(float* data, size_t count) override {
    const int handle = next_handle_++;
    Sum& s = sums_[handle];
    s.data = data;
    s.count = count;
    s.segment = (count + size_ - 1) / size_;
    s.send.assign(s.segment * size_, 0.0f);
    std::copy_n(data, count, s.send.begin());
    s.received.resize(s.segment * size_);
    check(MPI_Ialltoall(s.send.data(), static_cast<int>(s.segment), MPI_FLOAT, s.received.data(),
                        static_cast<int>(s.segment), MPI_FLOAT, MPI_COMM_WORLD, &s.request),
          "MPI_Ialltoall");
    return handle;
  }

  void poll() override {
    for (auto& [handle, s] : sums_) advance(s);
  }

  void wait(int handle) override {
    auto found = sums_.find(handle);
    if (found == sums_.end()) throw CommunicationError("rank " + std::to_string(rank_) + ": no sum " + std::to_string(handle));
    Sum& s = found->second;
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_);
    for (int spins = 0; !advance(s); ++spins) {
      if (Clock::now() > deadline) timed_out("a gradient sum");
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(20));
      poll();  // the other sums in flight advance too
    }
    sums_.erase(found);
  }

  void sum(double* data, size_t count) override {
    std::vector<double> all(count * size_);
    MPI_Request request;
    check(MPI_Iallgather(data, static_cast<int>(count), MPI_DOUBLE, all.data(), static_cast<int>(count), MPI_DOUBLE,
                         MPI_COMM_WORLD, &request),
          "MPI_Iallgather");
    wait_for(request, "a sum of counts");
    for (size_t k = 0; k < count; ++k) {
      double total = all[k];
      for (int r = 1; r < size_; ++r) total += all[r * count + k];
      data[k] = total;
    }
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  struct Sum {
    float* data = nullptr;
    size_t count = 0, segment = 0;
    std::vector<float> send, received, mine, gathered;
    MPI_Request request = MPI_REQUEST_NULL;
    bool gathering = false, done = false;
  };

  // Moves a sum on by the phases that have completed; true once it is done.
  bool advance(Sum& s) {
    if (s.done) return true;
    int complete = 0;
    check(MPI_Test(&s.request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
    if (!complete) return false;
    if (!s.gathering) {
      s.mine.assign(s.received.begin(), s.received.begin() + s.segment);  // rank 0's copy
      for (int r = 1; r < size_; ++r)
        for (size_t k = 0; k < s.segment; ++k) s.mine[k] += s.received[r * s.segment + k];
      s.gathered.resize(s.segment * size_);
      check(MPI_Iallgather(s.mine.data(), static_cast<int>(s.segment), MPI_FLOAT, s.gathered.data(),
                           static_cast<int>(s.segment), MPI_FLOAT, MPI_COMM_WORLD, &s.request),
            "MPI_Iallgather");
      s.gathering = true;
      return false;
    }
    std::copy_n(s.gathered.begin(), s.count, s.data);
    s.done = true;
    return true;
  }

  void wait_for(MPI_Request& request, const std::string& what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_);
    for (int spins = 0;; ++spins) {
      int complete = 0;
      check(MPI_Test(&request, &complete, MPI_STATUS_IGNORE), "MPI_Test");
      if (complete) return;
      if (Clock::now() > deadline) timed_out(what);
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  [[noreturn]] void timed_out(const std::string& what) const {
    throw CommunicationError("rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": " + what +
                             " did not complete within " + std::to_string(static_cast<int>(timeout_)) +
                             " s: another rank died or stopped answering");
  }

  void check(int code, const char* call) const {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw CommunicationError("rank " + std::to_string(rank_) + ": " + call + " failed: " + std::string(text, length));
  }

  double timeout_;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  int next_handle_ = 0;
  std::map<int, Sum> sums_;
};

}  // namespace
}  // namespace gc::distributed

// The module's one entry point (distributed/load_mpi.cpp).
extern "C" gc::distributed::Communicator* gradcore_open_mpi(double timeout_seconds) {
  return new gc::distributed::MpiCommunicator(timeout_seconds);
}
