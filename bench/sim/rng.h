// A small seeded random source for the traffic simulator. The standard
// library's engines are portable but its distributions are not (their
// algorithms are implementation-defined), so the simulator draws everything
// from here to keep its files byte-identical for a given seed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tosgate::sim {

// SplitMix64: mixes a 64-bit value into a well-spread one; also used to
// derive independent streams from (seed, account, request) tuples.
inline uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline uint64_t Derive(uint64_t a, uint64_t b, uint64_t c = 0) { return Mix(Mix(Mix(a) ^ b) ^ c); }

// xoshiro256** seeded through SplitMix64. Not for secrets.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& s : s_) s = seed = Mix(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [lo, hi], inclusive.
  int64_t Int(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Exponential with the given mean.
  double Exp(double mean) { return -mean * std::log(1.0 - Uniform()); }
  // Standard normal (Box-Muller; one of the pair is thrown away, for simplicity).
  double Normal() {
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Log-normal whose median is `median`; `sigma` spreads it.
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

  template <typename T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[static_cast<size_t>(Next() % N)];
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Next() % v.size())];
  }
  std::string Hex(int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    uint64_t bits = 0;
    for (int i = 0; i < digits; ++i) {
      if (i % 16 == 0) bits = Next();
      out += kHex[bits & 15];
      bits >>= 4;
    }
    return out;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace tosgate::sim
