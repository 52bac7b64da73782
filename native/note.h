// A line of text set once by a lane and read by describe() on another
// thread (a driver's warning): the flag publishes the bytes. One writer.
#pragma once
#include <atomic>
#include <cstring>
#include <string>

namespace vnf {

class Note {
 public:
  void set(const std::string& s) {
    if (set_.load(std::memory_order_relaxed)) return;
    size_t n = s.size() < sizeof text_ - 1 ? s.size() : sizeof text_ - 1;
    std::memcpy(text_, s.data(), n);
    text_[n] = 0;
    set_.store(true, std::memory_order_release);
  }
  void append(std::string& out) const {
    if (set_.load(std::memory_order_acquire)) out += std::string("; warning: ") + text_;
  }

 private:
  char text_[240];
  std::atomic<bool> set_{false};
};

}  // namespace vnf
