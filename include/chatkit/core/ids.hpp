// chatkit-cpp: unguessable random tokens for every id the SDK generates.
#pragma once

#include <chatkit/core/config.hpp>

#include <cstddef>
#include <string>

namespace chatkit {

/// Bits of OS randomness in every id chatkit-cpp generates (thread, item, attachment, call ids).
inline constexpr std::size_t id_random_bits = 128;

/// `bytes` bytes from the OS CSPRNG (OpenSSL `RAND_bytes`, drawn in per-thread batches of 512 bytes,
/// each byte used once; a forked child draws its own) as `2 * bytes` lowercase hex digits.
/// Throws `std::runtime_error` when the generator cannot deliver (never returns weak randomness).
CHATKIT_API std::string random_hex(std::size_t bytes);

}  // namespace chatkit
