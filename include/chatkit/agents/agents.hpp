// chatkit-cpp: umbrella header of the Agent/Runner layer (ChatKit-free: the bridge to ChatKit events
// and the transcriber are in <chatkit/agents/chatkit/bridge.hpp> and <chatkit/agents/chatkit/transcriber.hpp>).
#pragma once

#include <chatkit/agents/agent.hpp>
#include <chatkit/agents/errors.hpp>
#include <chatkit/agents/events.hpp>
#include <chatkit/agents/items.hpp>
#include <chatkit/agents/model.hpp>
#include <chatkit/agents/offline.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/agents/runner.hpp>
#include <chatkit/agents/tool.hpp>
