// Precompiled header of the test executables.
#pragma once

#include <catch2/catch.hpp>

#include <chatkit/protocol/protocol.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>
