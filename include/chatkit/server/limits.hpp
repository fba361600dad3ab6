// chatkit-cpp: the bounds a ChatKitServer puts on what one request may carry.
#pragma once

#include <cstddef>

namespace chatkit {

/// Bounds on the lists a request carries, checked before any store call (over a bound: 400 with a
/// JSON body). Give them to a server in `ChatKitServerOptions::limits`. The defaults admit everything
/// the ChatKit web component sends.
struct ServerLimits {
    /// Attachments one user message may reference (`input.attachments`); repeated ids are always
    /// refused. The reference has no bound.
    std::size_t max_attachments_per_message = 16;
    /// The largest page `threads.list` / `items.list` answer; a larger `limit` is lowered to it
    /// (ChatKit clients ask for at most 100).
    std::size_t max_page_limit = 100;
    /// Item ids one `items.feedback` request may name.
    std::size_t max_feedback_items = 100;
};

}  // namespace chatkit
