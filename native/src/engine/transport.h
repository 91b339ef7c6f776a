// Transports move values between devices: the same interface in one process (one inbox per device,
// engine/transport_inproc.cpp) and across processes and hosts (MPI point-to-point, one device per
// rank, tool/transport_mpi.cpp, built only when CMake finds MPI).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fleetrt/kernel.h"

namespace fleetrt {

struct Message {
  int pass = 0;           // the engine pass (a forward of the graph) the value belongs to
  uint32_t channel = 0;   // plan.json channels[channel]
  int from = 0;           // sending device
  Value value;
  uint64_t bytes = 0;
  double sent_us = 0;
  // The value is shared, not copied, in one process (a floating op's value: engine/floating.h);
  // the sender keeps no way to write it.
  bool shared = false;
  // No device waits for it: the receiver takes it when it next looks (a transport may skip the wake-up).
  bool lazy = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const char* kind() const = 0;  // "inproc" or "mpi"
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Whether device `d` runs in this process.
  virtual bool local(int device) const = 0;
  // Sends to device `to`; never blocks on the receiver.
  virtual bool send(int to, Message m, std::string* error) = 0;
  // A message for local device `device`, if one has arrived. The receiver gets its own copy.
  virtual bool poll(int device, Message* m, bool* got, std::string* error) = 0;
  // A counter that every send and wake() advances. A device that found nothing to do calls
  // wait(device, epoch read before it looked, …): it returns at once if anything happened since.
  virtual uint64_t epoch() const = 0;
  // Blocks up to timeout_us, or until the epoch moves past `seen`.
  virtual void wait(int device, uint64_t seen, int timeout_us) = 0;
  virtual void wake() = 0;
  // Messages sent and not yet taken by a device of this process; -1 where that cannot be known.
  virtual int in_flight() const = 0;
  // Waits for outstanding sends.
  virtual bool flush(std::string* error) = 0;
  // Rank 0 receives every rank's text (in rank order); other ranks get nothing back.
  virtual bool gather(const std::string& mine, std::vector<std::string>* all, std::string* error) = 0;
  // Logical AND of `ok` over all ranks (also a barrier).
  virtual bool all_ok(bool ok) = 0;
  // Ends every rank (after this rank printed why).
  [[noreturn]] virtual void abort(int code) = 0;
};

// Every device in this process.
std::unique_ptr<Transport> make_inproc_transport(int devices);
// One device per rank under mpirun, or null with *error saying why (not built with MPI).
std::unique_ptr<Transport> make_mpi_transport(int* argc, char*** argv, std::string* error);

// Bytes of a value's tensor data (what a transfer moves).
uint64_t value_bytes(const Value& v);
// A deep copy (the receiver's own memory).
bool copy_value(const Value& in, Value* out, std::string* error);

}  // namespace fleetrt
