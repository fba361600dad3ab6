// chatkit-cpp core: server-sent events framing (see sse.hpp).
#include <chatkit/core/sse.hpp>

namespace chatkit {

namespace {

constexpr char bom[] = "\xEF\xBB\xBF";

// The offset of the first \r or \n in `text`, or npos. (string_view::find_first_of calls memchr
// once per byte of `text`; this is one pass.)
std::size_t first_line_break(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n' || text[i] == '\r') return i;
    return std::string_view::npos;
}

// Appends `prefix <line>\n` for every line of `text` (ended by \n, \r\n or a lone \r; at least one).
void append_lines(std::string& out, std::string_view prefix, std::string_view text) {
    while (true) {
        auto const end = first_line_break(text);
        out.append(prefix);
        out.append(text.substr(0, end));
        out.push_back('\n');
        if (end == std::string_view::npos) return;
        std::size_t skip = 1;
        if (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') skip = 2;
        text.remove_prefix(end + skip);
    }
}

}  // namespace

std::string sse_data_frame(std::string data) {
    if (first_line_break(data) == std::string::npos) {
        data.insert(0, "data: ");
        data.append("\n\n");
        return data;
    }
    std::string out;
    append_sse_data_frame(out, data);
    return out;
}

void append_sse_data_frame(std::string& out, std::string_view data) {
    out.reserve(out.size() + data.size() + 8);
    append_lines(out, "data: ", data);
    out.push_back('\n');
}

std::string sse_comment(std::string_view text) {
    std::string out;
    append_lines(out, ": ", text);
    out.push_back('\n');
    return out;
}

void SseDecoder::feed(std::string_view bytes, std::vector<SseEvent>& out) {
    if (!bom_done_) {
        // Match the BOM byte by byte (it may arrive split); a mismatch releases the matched prefix.
        while (!bytes.empty() && bom_matched_ < 3) {
            if (bytes.front() != bom[bom_matched_]) break;
            ++bom_matched_;
            bytes.remove_prefix(1);
        }
        if (bom_matched_ == 3) {
            bom_done_ = true;
        } else if (!bytes.empty()) {
            bom_done_ = true;
            std::string prefix(bom, bom_matched_);
            if (!prefix.empty()) feed(prefix, out);
        } else {
            return;  // all bytes so far are a BOM prefix; wait for more
        }
    }
    while (!bytes.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        auto pos = first_line_break(bytes);
        if (pos == std::string_view::npos) {
            if (line_.size() + bytes.size() > max_) throw SseError("server-sent event line too long");
            line_.append(bytes);
            return;
        }
        if (line_.size() + pos > max_) throw SseError("server-sent event line too long");
        if (bytes[pos] == '\r') skip_lf_ = true;
        if (line_.empty()) {
            process_line(bytes.substr(0, pos), out);
        } else {
            line_.append(bytes.substr(0, pos));
            std::string line = std::move(line_);
            line_.clear();
            process_line(line, out);
        }
        bytes.remove_prefix(pos + 1);
    }
}

void SseDecoder::finish(std::vector<SseEvent>& out) {
    if (!bom_done_ && bom_matched_ > 0) {
        bom_done_ = true;
        line_.assign(bom, bom_matched_);
    }
    bom_done_ = true;
    if (!line_.empty()) {
        std::string line = std::move(line_);
        line_.clear();
        process_line(line, out);
    }
    skip_lf_ = false;
    dispatch(out);
}

void SseDecoder::process_line(std::string_view line, std::vector<SseEvent>& out) {
    if (line.empty()) {
        dispatch(out);
        return;
    }
    if (line.front() == ':') {
        ++comments_;
        return;
    }
    std::string_view name = line;
    std::string_view value;
    if (auto colon = line.find(':'); colon != std::string_view::npos) {
        name = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (name == "data") {
        if (data_.size() + value.size() + 1 > max_) throw SseError("server-sent event too large");
        if (has_data_) data_.push_back('\n');
        data_.append(value);
        has_data_ = true;
    } else if (name == "event") {
        event_.assign(value);
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    } else if (name == "retry") {
        if (value.empty() || value.size() > 18) return;
        std::uint64_t ms = 0;
        for (char c : value) {
            if (c < '0' || c > '9') return;
            ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
        }
        retry_ = ms;
    } else if (name == "error") {
        error_ = std::string(value);
    }
}

void SseDecoder::dispatch(std::vector<SseEvent>& out) {
    if (has_data_ || error_) {
        SseEvent ev;
        ev.event = std::move(event_);
        ev.data = std::move(data_);
        ev.id = last_id_;
        ev.error = std::move(error_);
        out.push_back(std::move(ev));
    }
    data_.clear();
    event_.clear();
    error_.reset();
    has_data_ = false;
}

}  // namespace chatkit
