# Build agent.jar reproducibly (cmake -P; run by the example agent's build).
# In: JAVAC, JAR, SRC_DIR, WORK_DIR, OUTPUT, VERSION. The environment's
# SOURCE_DATE_EPOCH, when set, dates every entry; otherwise a fixed date does,
# so two builds of the same sources with the same JDK are byte-identical.
# Entries are added in sorted order, never in directory order.
foreach(v JAVAC JAR SRC_DIR WORK_DIR OUTPUT VERSION)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "build-jar.cmake: ${v} is not set")
  endif()
endforeach()

if(DEFINED ENV{SOURCE_DATE_EPOCH} AND NOT "$ENV{SOURCE_DATE_EPOCH}" STREQUAL "")
  if(NOT "$ENV{SOURCE_DATE_EPOCH}" MATCHES "^[0-9]+$")
    message(FATAL_ERROR "build-jar.cmake: SOURCE_DATE_EPOCH is not a number")
  endif()
  # string(TIMESTAMP) reads SOURCE_DATE_EPOCH itself.
  string(TIMESTAMP date "%Y-%m-%dT%H:%M:%SZ" UTC)
  # jar accepts dates from 1980-01-01T00:00:02Z (the ZIP epoch) to 2099.
  if(date STRLESS "1980-01-01T00:00:02Z")
    set(date "1980-01-01T00:00:02Z")
  endif()
else()
  set(date "2000-01-01T00:00:00Z")
endif()

set(classes "${WORK_DIR}/classes")
file(REMOVE_RECURSE "${classes}")
file(MAKE_DIRECTORY "${classes}")

file(GLOB_RECURSE sources "${SRC_DIR}/*.java")
list(SORT sources)
execute_process(
  COMMAND "${JAVAC}" --release 17 -encoding UTF-8 -Xlint:all -Werror -implicit:none
          -d "${classes}" ${sources}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build-jar.cmake: javac failed")
endif()

file(WRITE "${WORK_DIR}/agent.manifest"
     "Main-Class: com.example.agent.Agent\n"
     "Implementation-Title: example-agent\n"
     "Implementation-Version: ${VERSION}\n"
     "Implementation-Vendor: Example Corp\n")

file(GLOB_RECURSE entries RELATIVE "${classes}" "${classes}/*")
list(SORT entries)
set(args "")
foreach(e IN LISTS entries)
  list(APPEND args -C "${classes}" "${e}")
endforeach()

file(REMOVE "${OUTPUT}.tmp")
execute_process(
  COMMAND "${JAR}" --create --file "${OUTPUT}.tmp" --manifest "${WORK_DIR}/agent.manifest"
          --date "${date}" ${args}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "build-jar.cmake: jar failed")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
