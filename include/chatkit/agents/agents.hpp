// chatkit-cpp: umbrella header of the Agent/Runner layer.
#pragma once

#include <chatkit/agents/agent.hpp>
#include <chatkit/agents/chatkit/bridge.hpp>
#include <chatkit/agents/chatkit/transcriber.hpp>
#include <chatkit/agents/errors.hpp>
#include <chatkit/agents/events.hpp>
#include <chatkit/agents/items.hpp>
#include <chatkit/agents/model.hpp>
#include <chatkit/agents/offline.hpp>
#include <chatkit/agents/openai.hpp>
#include <chatkit/agents/runner.hpp>
#include <chatkit/agents/tool.hpp>
