// How values reach devices that live in another process. In-process runs need none (a device's
// inbox is a queue in memory); under MPI each rank holds one device and messages are MPI
// point-to-point (transport_mpi.cpp, built only when CMake finds MPI).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fleetrt/kernel.h"

namespace fleetrt {

struct Message {
  int request = 0;
  uint32_t channel = 0;
  int from = 0;
  Value value;
  uint64_t bytes = 0;
  double sent_us = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sends to the process holding device `to` (its rank); must not block on the receiver.
  virtual bool send(int to, const Message& m, std::string* error) = 0;
  // A message for this process, if one has arrived.
  virtual bool poll(Message* m, bool* got, std::string* error) = 0;
  // Waits for outstanding sends.
  virtual bool flush(std::string* error) = 0;
  // Rank 0 receives every rank's text (in rank order); other ranks get nothing back.
  virtual bool gather(const std::string& mine, std::vector<std::string>* all, std::string* error) = 0;
  // Logical AND of `ok` over all ranks (also a barrier).
  virtual bool all_ok(bool ok) = 0;
  // Ends every rank (after this rank printed why).
  [[noreturn]] virtual void abort(int code) = 0;
};

// The MPI transport, or null with *error saying why (not built with MPI).
std::unique_ptr<Transport> make_mpi_transport(int* argc, char*** argv, std::string* error);

// Bytes of a value's tensor data (what a transfer moves).
uint64_t value_bytes(const Value& v);

}  // namespace fleetrt
