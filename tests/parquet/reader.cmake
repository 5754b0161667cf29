# Extra ctest entries for the Parquet reader: the `lakehouse parquet`
# subcommands on a DuckDB-written file from the fuzz seed corpus, and on a
# file that is not Parquet (one stderr line, exit code 1).
set(_pq_seed ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/parquet/duckdb-zstd.parquet)
add_test(NAME parquet_cli_not_parquet
         COMMAND sh -c "$0 parquet inspect \"$1\" 2>&1 >/dev/null; test $? -eq 1" $<TARGET_FILE:lakehouse> ${CMAKE_CURRENT_SOURCE_DIR}/CMakeLists.txt)
add_test(NAME parquet_cli_not_parquet_message
         COMMAND $<TARGET_FILE:lakehouse> parquet cat ${CMAKE_CURRENT_SOURCE_DIR}/CMakeLists.txt)
set_tests_properties(parquet_cli_not_parquet_message PROPERTIES
  PASS_REGULAR_EXPRESSION "^lakehouse: [^\n]*CMakeLists.txt: not a Parquet file \\([^\n]+\\)\n$")
add_test(NAME parquet_cli_cat_json
         COMMAND $<TARGET_FILE:lakehouse> parquet cat ${_pq_seed} --limit 2)
set_tests_properties(parquet_cli_cat_json PROPERTIES PASS_REGULAR_EXPRESSION
  "^\\{\"id\":0,\"bo\":null,[^\n]*\"d4\":-99.99,[^\n]*\"ls\":\\[\"a0\"\\]\\}\n\\{\"id\":1,[^\n]*\"li\":\\[\\],\"ls\":\\[\"a1\",null\\]\\}\n$")
add_test(NAME parquet_cli_cat_csv
         COMMAND $<TARGET_FILE:lakehouse> parquet cat ${_pq_seed} --format csv --limit 1)
set_tests_properties(parquet_cli_cat_csv PROPERTIES PASS_REGULAR_EXPRESSION
  "^id,bo,i8,[^\n]*\n0,,,-32768,[^\n]*,1945-03-30,00:00:00,[^\n]*\n$")
add_test(NAME parquet_cli_inspect_json
         COMMAND $<TARGET_FILE:lakehouse> parquet inspect --json ${_pq_seed})
set_tests_properties(parquet_cli_inspect_json PROPERTIES PASS_REGULAR_EXPRESSION
  "\"num_rows\":12,[^\n]*\"name\":\"d38\",\"type\":\"decimal\\(38,10\\)\",\"physical\":\"FIXED_LEN_BYTE_ARRAY\",\"logical\":\"DECIMAL\\(38,10\\)\"[^\n]*\"codec\":\"ZSTD\"")
add_test(NAME parquet_cli_help COMMAND $<TARGET_FILE:lakehouse> parquet cat --help)
set_tests_properties(parquet_cli_help PROPERTIES PASS_REGULAR_EXPRESSION
  "usage: lakehouse parquet cat FILE")
