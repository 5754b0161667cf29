# Page CRCs read by the independent readers (issue 12): test_page_crc writes
# a file and a copy with one garbled page; check_page_crc.mjs has DuckDB and
# arrow-rs read both (see that script for what each must do); then
# `lakehouse parquet cat` must refuse the garbled copy with one line (exit 1).
find_program(LH_NODE_CRC node)
if(TARGET parquet_test_page_crc AND TARGET lakehouse AND LH_NODE_CRC
   AND EXISTS ${CMAKE_SOURCE_DIR}/tests/node/node_modules/@duckdb/node-api)
  set(_crc_dir ${CMAKE_CURRENT_BINARY_DIR}/page-crc)
  add_test(NAME parquet_page_crc_readers
           COMMAND sh -c "rm -rf '${_crc_dir}' && mkdir -p '${_crc_dir}' && \
'$<TARGET_FILE:parquet_test_page_crc>' '${_crc_dir}' >/dev/null && \
node '${CMAKE_CURRENT_SOURCE_DIR}/check_page_crc.mjs' '${_crc_dir}' && \
'$<TARGET_FILE:lakehouse>' parquet cat '${_crc_dir}/crc_ok.parquet' >/dev/null && \
{ '$<TARGET_FILE:lakehouse>' parquet cat '${_crc_dir}/crc_bad.parquet' >/dev/null 2>'${_crc_dir}/cat.err'; \
test $? -eq 1; } && test $(wc -l <'${_crc_dir}/cat.err') -eq 1 && \
grep 'column r: page 0 of row group 0 fails its CRC check' '${_crc_dir}/cat.err'")
  set_tests_properties(parquet_page_crc_readers PROPERTIES
    ENVIRONMENT "LH_NODE_DIR=${CMAKE_SOURCE_DIR}/tests/node" TIMEOUT 120)
endif()
