// Fuzz target: the typed JSON readers (chatkit::from_json<T>) and writers.
//
// Input: one selector byte (which protocol type), then a JSON text. The text goes through
// chatkit::parse_json and from_json<T>; a reader may only fail with chatkit::Error(invalid_request).
// A value that was read must survive a round trip: to_json (store form), chatkit::serialize,
// parse_json and from_json<T> again give a value that writes the same text.
#include <chatkit/core/error.hpp>
#include <chatkit/protocol/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool is_invalid_request(chatkit::Error const& e) {
    return e.code() == chatkit::make_error_code(chatkit::error::invalid_request);
}

template <class T>
chatkit::JsonValue write(T const& value) {
    if constexpr (requires { chatkit::to_json(value, chatkit::JsonMode::store); })
        return chatkit::to_json(value, chatkit::JsonMode::store);
    else
        return chatkit::to_json(value);
}

template <class T>
void check(chatkit::JsonValue const& input) {
    T value;
    try {
        value = chatkit::from_json<T>(input);
    } catch (chatkit::Error const& e) {
        if (!is_invalid_request(e)) std::abort();
        return;
    }
    if constexpr (requires { chatkit::to_json(value); }) {
        std::string const text = chatkit::serialize(write(value));
        T again;
        try {
            again = chatkit::from_json<T>(chatkit::parse_json(text));
        } catch (chatkit::Error const&) {
            std::abort();  // what we wrote, we must read back
        }
        // Nothing is lost or changed on the way: the text form is stable once written. (Compared as
        // text because not every event type has an operator==.)
        if (chatkit::serialize(write(again)) != text) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 1) return 0;
    std::string_view const text(reinterpret_cast<char const*>(data) + 1, size - 1);
    chatkit::JsonValue input;
    try {
        input = chatkit::parse_json(text);
    } catch (chatkit::Error const& e) {
        if (!is_invalid_request(e)) std::abort();
        return 0;
    }
    switch (data[0] % 11) {
        case 0: check<chatkit::ThreadItem>(input); break;
        case 1: check<chatkit::ThreadStreamEvent>(input); break;
        case 2: check<chatkit::ThreadItemUpdate>(input); break;
        case 3: check<chatkit::Thread>(input); break;
        case 4: check<chatkit::ThreadMetadata>(input); break;
        case 5: check<chatkit::Attachment>(input); break;
        case 6: check<chatkit::Task>(input); break;
        case 7: check<chatkit::Source>(input); break;
        case 8: check<chatkit::UserMessageInput>(input); break;
        case 9: check<chatkit::Page<chatkit::ThreadItem>>(input); break;
        default: check<chatkit::Page<chatkit::ThreadMetadata>>(input); break;
    }
    return 0;
}
