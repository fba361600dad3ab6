// The one source of randomness for generated ids: OpenSSL's CSPRNG.
#include <chatkit/core/ids.hpp>

#include <chatkit/core/error.hpp>

#include <openssl/rand.h>

#include <array>

namespace chatkit {

std::string random_hex(std::size_t bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    std::array<unsigned char, 64> buf{};
    while (bytes > 0) {
        std::size_t const n = bytes < buf.size() ? bytes : buf.size();
        if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1)
            throw Error(error::internal, "RAND_bytes failed");
        for (std::size_t i = 0; i < n; ++i) {
            out += digits[buf[i] >> 4];
            out += digits[buf[i] & 0xF];
        }
        bytes -= n;
    }
    return out;
}

}  // namespace chatkit
