#include "rss_bpf.h"

#include <cstddef>
#include <cstdint>

namespace vnf {
namespace {

// Builds the program with forward labels patched at the end.
class Program {
 public:
  explicit Program(const Toeplitz& t) : t_(t) {}

  void op(uint16_t code, uint32_t k) { p_.push_back(sock_filter{code, 0, 0, k}); }
  // A conditional jump: to `label` when the test holds (or, with
  // onTrue false, when it fails), else on to the next instruction. Through
  // an unconditional jump, since a conditional one reaches 255 ahead at most.
  void jumpIf(uint16_t code, uint32_t k, int label, bool onTrue = true) {
    p_.push_back(sock_filter{code, uint8_t(onTrue ? 0 : 1), uint8_t(onTrue ? 1 : 0), k});
    jumpTo(label);
  }
  void jumpTo(int label) {
    fix_.push_back({p_.size(), label});
    p_.push_back(sock_filter{BPF_JMP | BPF_JA, 0, 0, 0});
  }
  void place(int label) {
    if (label >= int(at_.size())) at_.resize(label + 1, 0);
    at_[label] = p_.size();
  }

  // M[0] ^= the hash contribution of the packet byte at `off` (relative to
  // the network header) as input byte `pos`: for each of its 8 bits, the
  // 32 key bits starting there, when the bit is set.
  void hashByte(uint32_t off, uint32_t pos) {
    op(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF) + off);
    op(BPF_MISC | BPF_TAX, 0);
    uint8_t in[Toeplitz::kMaxInput] = {};
    for (uint32_t b = 0; b < 8; b++) {
      in[pos] = uint8_t(0x80 >> b);
      const uint32_t w = t_.hash(in, pos + 1);
      op(BPF_MISC | BPF_TXA, 0);
      p_.push_back(sock_filter{BPF_JMP | BPF_JSET | BPF_K, 0, 3, uint32_t(0x80 >> b)});
      op(BPF_LD | BPF_MEM, 0);
      op(BPF_ALU | BPF_XOR | BPF_K, w);
      op(BPF_ST, 0);
    }
  }
  // The same with the byte at X + off (X: the IPv4 header length).
  void hashByteX(uint32_t off, uint32_t pos) {
    op(BPF_LD | BPF_B | BPF_IND, uint32_t(SKF_NET_OFF) + off);
    op(BPF_ST, 1);
    uint8_t in[Toeplitz::kMaxInput] = {};
    for (uint32_t b = 0; b < 8; b++) {
      in[pos] = uint8_t(0x80 >> b);
      const uint32_t w = t_.hash(in, pos + 1);
      op(BPF_LD | BPF_MEM, 1);
      p_.push_back(sock_filter{BPF_JMP | BPF_JSET | BPF_K, 0, 3, uint32_t(0x80 >> b)});
      op(BPF_LD | BPF_MEM, 0);
      op(BPF_ALU | BPF_XOR | BPF_K, w);
      op(BPF_ST, 0);
    }
  }

  std::vector<sock_filter> done() {
    for (const Fix& f : fix_) p_[f.at].k = uint32_t(at_[f.label] - f.at - 1);
    return p_;
  }

 private:
  struct Fix { size_t at; int label; };
  const Toeplitz& t_;
  std::vector<sock_filter> p_;
  std::vector<Fix> fix_;
  std::vector<size_t> at_;
};

enum Label { kV6, kV4Ports, kV6Ports, kReta, kZero };

}  // namespace

std::vector<sock_filter> rssFanoutProgram(const Toeplitz& t) {
  Program p(t);
  p.op(BPF_LD | BPF_IMM, 0);
  p.op(BPF_ST, 0);
  p.op(BPF_LD | BPF_H | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_PROTOCOL));
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, kV6);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, kZero, false);
  // IPv4: version 4, addresses; ports for TCP/UDP that is not a fragment
  // and has a header of at least 20 bytes (as frameHash).
  p.op(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF) + 0);
  p.op(BPF_ALU | BPF_AND | BPF_K, 0xf0);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 0x40, kZero, false);
  for (uint32_t i = 0; i < 8; i++) p.hashByte(12 + i, i);
  p.op(BPF_LD | BPF_H | BPF_ABS, uint32_t(SKF_NET_OFF) + 6);
  p.jumpIf(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, kReta);
  p.op(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF) + 9);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 6, kV4Ports);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 17, kReta, false);
  p.place(kV4Ports);
  p.op(BPF_LDX | BPF_B | BPF_MSH, uint32_t(SKF_NET_OFF) + 0);
  p.op(BPF_MISC | BPF_TXA, 0);
  p.jumpIf(BPF_JMP | BPF_JGE | BPF_K, 20, kReta, false);
  for (uint32_t i = 0; i < 4; i++) p.hashByteX(i, 8 + i);
  p.jumpTo(kReta);
  // IPv6: version 6, addresses; ports when TCP/UDP follows the fixed header.
  p.place(kV6);
  p.op(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF) + 0);
  p.op(BPF_ALU | BPF_AND | BPF_K, 0xf0);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 0x60, kZero, false);
  for (uint32_t i = 0; i < 32; i++) p.hashByte(8 + i, i);
  p.op(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF) + 6);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 6, kV6Ports);
  p.jumpIf(BPF_JMP | BPF_JEQ | BPF_K, 17, kReta, false);
  p.place(kV6Ports);
  for (uint32_t i = 0; i < 4; i++) p.hashByte(40 + i, 32 + i);
  // The indirection table: hash & 127; the kernel takes it modulo the members.
  p.place(kReta);
  p.op(BPF_LD | BPF_MEM, 0);
  p.op(BPF_ALU | BPF_AND | BPF_K, Rss::kRetaSize - 1);
  p.op(BPF_RET | BPF_A, 0);
  p.place(kZero);
  p.op(BPF_RET | BPF_K, 0);
  return p.done();
}

}  // namespace vnf
