# DELTA_BINARY_PACKED and the per-column codec (issue 18): test_delta writes
# the file (and checks it with our reader), delta_readers.mjs has DuckDB,
# hyparquet and arrow-rs read it back value by value.
find_program(LH_NODE_DELTA node)
if(TARGET parquet_test_delta AND LH_NODE_DELTA
   AND EXISTS ${CMAKE_SOURCE_DIR}/tests/node/node_modules/@duckdb/node-api)
  set(_delta_dir ${CMAKE_CURRENT_BINARY_DIR}/delta-readers)
  add_test(NAME parquet_delta_readers
           COMMAND sh -c "rm -rf '${_delta_dir}' && mkdir -p '${_delta_dir}' && \
'$<TARGET_FILE:parquet_test_delta>' '${_delta_dir}' >/dev/null && \
node '${CMAKE_CURRENT_SOURCE_DIR}/delta_readers.mjs' '${_delta_dir}'")
  set_tests_properties(parquet_delta_readers PROPERTIES
    ENVIRONMENT "LH_NODE_DIR=${CMAKE_SOURCE_DIR}/tests/node" TIMEOUT 120)
endif()
