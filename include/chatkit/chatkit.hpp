// chatkit-cpp: the umbrella header (everything except chatkit/sqlite/ and chatkit/http/).
#pragma once

#include <chatkit/attachments/local_store.hpp>
#include <chatkit/config.hpp>
#include <chatkit/error.hpp>
#include <chatkit/event_sink.hpp>
#include <chatkit/ids.hpp>
#include <chatkit/media_type.hpp>
#include <chatkit/limits.hpp>
#include <chatkit/logging.hpp>
#include <chatkit/memory_store.hpp>
#include <chatkit/protocol.hpp>
#include <chatkit/response.hpp>
#include <chatkit/server.hpp>
#include <chatkit/store.hpp>
#include <chatkit/streaming.hpp>
#include <chatkit/transcriber.hpp>
#include <chatkit/widgets.hpp>
