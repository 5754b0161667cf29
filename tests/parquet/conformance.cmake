# Parquet conformance (issue 2): the golden generator, the C round trip's
# shared cases, and the ctest entries that read our files with DuckDB and
# arrow-rs (node, tests/node/node_modules).
add_library(lh_pq_golden_cases STATIC ${CMAKE_CURRENT_SOURCE_DIR}/golden/cases.c)
target_include_directories(lh_pq_golden_cases PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/golden ${CMAKE_SOURCE_DIR}/src/parquet ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(lh_pq_golden_cases PUBLIC lh_parquet_writer m)

add_executable(parquet_gen_golden ${CMAKE_CURRENT_SOURCE_DIR}/golden/gen_golden.c)
target_link_libraries(parquet_gen_golden PRIVATE lh_pq_golden_cases)

if(TARGET parquet_test_roundtrip)
  target_link_libraries(parquet_test_roundtrip PRIVATE lh_pq_golden_cases)
endif()

find_program(LH_NODE node)
if(LH_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/tests/node/node_modules/@duckdb/node-api
   AND EXISTS ${CMAKE_SOURCE_DIR}/tests/node/node_modules/parquet-wasm)
  set(_lh_golden_sh ${CMAKE_CURRENT_SOURCE_DIR}/golden/run_conformance.sh)
  add_test(NAME parquet_conformance
           COMMAND sh ${_lh_golden_sh} $<TARGET_FILE:parquet_gen_golden>
                   ${CMAKE_CURRENT_BINARY_DIR}/golden-out)
  add_test(NAME parquet_conformance_negative
           COMMAND sh ${_lh_golden_sh} $<TARGET_FILE:parquet_gen_golden>
                   ${CMAKE_CURRENT_BINARY_DIR}/golden-negative --negative)
  set_tests_properties(parquet_conformance parquet_conformance_negative PROPERTIES
    ENVIRONMENT "LH_NODE_DIR=${CMAKE_SOURCE_DIR}/tests/node" TIMEOUT 120)
else()
  message(STATUS "parquet conformance: node or tests/node/node_modules missing, golden checks skipped")
endif()
