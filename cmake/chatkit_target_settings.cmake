# Per-target settings applied to chatkit's own targets only (never global flags).

# Warnings (and -Werror when CHATKIT_WARNINGS_AS_ERRORS is ON).
function(chatkit_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12 reports Asio's coroutine frame allocation (awaitable_frame_base::operator new/delete)
      # as mismatched when a coroutine lambda is inlined at -O2: a false positive (GCC PR 109224).
      target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete)
    endif()
    if(CHATKIT_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

# Sanitizers from CHATKIT_SANITIZE (e.g. "address,undefined"), on compile and link.
function(chatkit_enable_sanitizers target)
  if(CHATKIT_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${CHATKIT_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PUBLIC -fsanitize=${CHATKIT_SANITIZE})
    # clang 14's -fsanitize=function (part of "undefined") emits prologue data that cannot refer
    # across sections, which every coroutine in a COMDAT hits ("Cannot represent a difference across
    # sections"). The other UBSan checks stay on.
    # g++ 12 warns that TSan does not model the atomic_thread_fence in Asio's std_fenced_block
    # (-Wtsan); Asio's handler queues synchronise through mutexes, which TSan does see.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CHATKIT_SANITIZE MATCHES "thread")
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CHATKIT_SANITIZE MATCHES "undefined")
      target_compile_options(${target} PRIVATE -fno-sanitize=function)
    endif()
  endif()
endfunction()

function(chatkit_target_settings target)
  chatkit_set_warnings(${target})
  chatkit_enable_sanitizers(${target})
endfunction()
