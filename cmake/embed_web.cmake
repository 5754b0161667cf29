# embed_web.cmake — the dashboard as a C table (src/web/web.h):
#   cmake -DWEB_DIR=web -DOUT=web_data.c -P embed_web.cmake
# Every file under WEB_DIR (dot files skipped) becomes one entry
# {"/rel/path", content type, bytes, length, strong ETag}, sorted by path
# for lh_web_find's binary search. The ETag is the first 32 hex digits of
# the file's SHA-256, so it changes exactly when the bytes do.
# An unknown extension is an error: add it to the table below.
cmake_minimum_required(VERSION 3.25)
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${WEB_DIR} ${WEB_DIR}/*)
list(FILTER files EXCLUDE REGEX "(^|/)\\.")
list(SORT files)
set(utf8 "charset=utf-8")
set(type_html "text/html")
set(type_js "text/javascript")
set(type_mjs "text/javascript")
set(type_css "text/css")
set(type_txt "text/plain")
set(type_json "application/json")
set(type_svg "image/svg+xml")
set(type_png "image/png")
set(type_ico "image/x-icon")
set(data "")
set(table "")
set(i 0)
foreach(f ${files})
  if(NOT f MATCHES "^[A-Za-z0-9_./-]+$")
    message(FATAL_ERROR "embed_web: unsupported file name '${f}'")
  endif()
  string(REGEX MATCH "[^.]+$" ext "${f}")
  string(TOLOWER "${ext}" ext)
  if(NOT DEFINED type_${ext})
    message(FATAL_ERROR "embed_web: no content type for '${f}' (extension ${ext})")
  endif()
  set(ctype "${type_${ext}}")
  if(ext MATCHES "^(html|js|mjs|css|txt)$")
    string(APPEND ctype "; ${utf8}")
  endif()
  file(READ ${WEB_DIR}/${f} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR len "${n} / 2")
  file(SHA256 ${WEB_DIR}/${f} sum)
  string(SUBSTRING "${sum}" 0 32 etag)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
  string(APPEND data "static const unsigned char f${i}[] = {\n${body}0x00};\n")
  string(APPEND table "    {\"/${f}\", \"${ctype}\", f${i}, ${len}, \"\\\"${etag}\\\"\"},\n")
  math(EXPR i "${i} + 1")
endforeach()
if(i EQUAL 0)
  message(FATAL_ERROR "embed_web: no files under ${WEB_DIR}")
endif()
file(WRITE ${OUT}.tmp
  "/* generated from web/ by cmake/embed_web.cmake; do not edit */\n"
  "#include \"web/web.h\"\n\n${data}\n"
  "extern const struct lh_web_file lh_web_files_[];\n"
  "extern const size_t lh_web_nfiles_;\n"
  "const struct lh_web_file lh_web_files_[] = {\n${table}};\n"
  "const size_t lh_web_nfiles_ = ${i};\n")
file(RENAME ${OUT}.tmp ${OUT})
