// chatkit-cpp: the umbrella header (everything except chatkit/store/sqlite/, chatkit/agents/ and chatkit/http/).
#pragma once

#include <chatkit/core/config.hpp>
#include <chatkit/core/error.hpp>
#include <chatkit/core/ids.hpp>
#include <chatkit/core/logging.hpp>
#include <chatkit/core/media_type.hpp>
#include <chatkit/protocol/protocol.hpp>
#include <chatkit/server/event_sink.hpp>
#include <chatkit/server/limits.hpp>
#include <chatkit/server/runs.hpp>
#include <chatkit/server/response.hpp>
#include <chatkit/server/server.hpp>
#include <chatkit/server/streaming.hpp>
#include <chatkit/server/transcriber.hpp>
#include <chatkit/server/widgets.hpp>
#include <chatkit/store/local_attachment_store.hpp>
#include <chatkit/store/memory_store.hpp>
#include <chatkit/store/store.hpp>
