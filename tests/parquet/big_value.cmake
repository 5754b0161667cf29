# A value larger than the writer's whole memory budget (issue 18):
# test_big_value writes it (and checks it with our reader), big_value.mjs
# has DuckDB and arrow-rs read it back value by value.
find_program(LH_NODE_BIG node)
if(TARGET parquet_test_big_value AND LH_NODE_BIG
   AND EXISTS ${CMAKE_SOURCE_DIR}/tests/node/node_modules/@duckdb/node-api)
  set(_big_dir ${CMAKE_CURRENT_BINARY_DIR}/big-value)
  add_test(NAME parquet_big_value_readers
           COMMAND sh -c "rm -rf '${_big_dir}' && mkdir -p '${_big_dir}' && \
'$<TARGET_FILE:parquet_test_big_value>' '${_big_dir}' >/dev/null && \
node '${CMAKE_CURRENT_SOURCE_DIR}/big_value.mjs' '${_big_dir}'")
  set_tests_properties(parquet_big_value_readers PROPERTIES
    ENVIRONMENT "LH_NODE_DIR=${CMAKE_SOURCE_DIR}/tests/node" TIMEOUT 120)
endif()
