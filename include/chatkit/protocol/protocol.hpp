// chatkit-cpp: every protocol shape and its JSON codec.
#pragma once

#include <chatkit/protocol/common.hpp>
#include <chatkit/protocol/events.hpp>
#include <chatkit/protocol/items.hpp>
#include <chatkit/protocol/json.hpp>
#include <chatkit/protocol/requests.hpp>
#include <chatkit/protocol/widgets.hpp>
