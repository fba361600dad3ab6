// The one source of randomness for generated ids: OpenSSL's CSPRNG.
#include <chatkit/core/ids.hpp>

#include <chatkit/core/error.hpp>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace chatkit {

namespace {

// Counts forks (in the child): a batch drawn before a fork is never used after it, so a parent and
// its child never hand out the same bytes.
std::atomic<std::uint64_t> fork_generation{1};

std::uint64_t current_generation() {
    static std::once_flag once;
    std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
    return fork_generation.load(std::memory_order_relaxed);
}

// Bytes drawn from RAND_bytes in batches (one call per 32 ids instead of one per id), per thread.
// Each byte is handed out once and wiped as it is.
struct random_batch {
    std::array<unsigned char, 512> bytes{};
    std::size_t used = bytes.size();
    std::uint64_t generation = 0;

    void take(unsigned char* out, std::size_t n) {
        while (n > 0) {
            std::uint64_t const now = current_generation();
            if (used == bytes.size() || generation != now) {
                if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
                    throw Error(error::internal, "RAND_bytes failed");
                used = 0;
                generation = now;
            }
            std::size_t const k = std::min(n, bytes.size() - used);
            std::memcpy(out, bytes.data() + used, k);
            OPENSSL_cleanse(bytes.data() + used, k);
            used += k;
            out += k;
            n -= k;
        }
    }
};

}  // namespace

std::string random_hex(std::size_t bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    thread_local random_batch batch;
    std::string out(bytes * 2, '\0');
    std::array<unsigned char, 64> buf{};
    for (std::size_t at = 0; bytes > 0;) {
        std::size_t const n = std::min(bytes, buf.size());
        batch.take(buf.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            out[at++] = digits[buf[i] >> 4];
            out[at++] = digits[buf[i] & 0xF];
        }
        bytes -= n;
    }
    OPENSSL_cleanse(buf.data(), buf.size());
    return out;
}

}  // namespace chatkit
