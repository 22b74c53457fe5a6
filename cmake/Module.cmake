# shardnode_module(NAME [DIR dir] [DEPS targets...])
#
# Declares one library from every .cc under DIR (default: the current source
# folder) except *_test.cc, *_fuzz.cc and main.cc, and, when DIR holds
# *_test.cc files, one GoogleTest binary NAME_test registered with CTest under
# the label "unit". Headers are included from the project root
# ("slots/crc16.h").
function(shardnode_module NAME)
  cmake_parse_arguments(M "" "DIR" "DEPS" ${ARGN})
  if(NOT M_DIR)
    set(M_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${M_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "(_test|_fuzz|/main)\\.cc$")
  if(srcs)
    add_library(${NAME} STATIC ${srcs})
    target_include_directories(${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${NAME} PUBLIC ${M_DEPS})
  else()
    # Headers only (or not written yet).
    add_library(${NAME} INTERFACE)
    target_include_directories(${NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${NAME} INTERFACE ${M_DEPS})
  endif()
  shardnode_tests(${NAME} DIR ${M_DIR} DEPS ${NAME})
endfunction()

# shardnode_tests(NAME [DIR dir] DEPS targets...): the unit-test binary of DIR.
function(shardnode_tests NAME)
  cmake_parse_arguments(T "" "DIR" "DEPS" ${ARGN})
  file(GLOB_RECURSE tests CONFIGURE_DEPENDS ${T_DIR}/*_test.cc)
  if(tests)
    add_executable(${NAME}_test ${tests})
    target_link_libraries(${NAME}_test PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
    # Tests that read fixtures find the source tree here (not from __FILE__,
    # which a compiler cache may make relative).
    target_compile_definitions(${NAME}_test PRIVATE SHARDNODE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    add_test(NAME ${NAME}_test COMMAND ${NAME}_test)
    set_tests_properties(${NAME}_test PROPERTIES LABELS unit TIMEOUT 300)
  endif()
endfunction()
