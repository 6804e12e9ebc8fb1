# The SGEMM versions' static report (`gradcore kernels --json`) shows the
# progression their header comments claim, for every <TA, TB> instantiation:
#   - no version spills (spill_stores = spill_loads = 0);
#   - 128-bit loads arrive with v6: ld.global.v4 and ld.shared.v4 are absent
#     from v1-v5 and present in v6 and v7;
#   - the FMA share of the PTX (fma.rn.f32 / all instructions, per mille)
#     rises along v2 → v3 → v5 → v6 → v7 and v4 → v5, checked as the lowest
#     share of the later version above the highest of the earlier one. v4
#     is not required to beat v3: its gain is fewer shared loads per FMA,
#     and its unrolled loader and epilogue weigh as much in a static count.
# cmake -DGRADCORE=... -DREPORT_DIR=... -P check_sgemm_report.cmake
execute_process(COMMAND ${GRADCORE} kernels --json --report-dir ${REPORT_DIR} RESULT_VARIABLE status
                OUTPUT_VARIABLE json ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "gradcore kernels --json failed (${status}): ${errors}")
endif()
string(JSON count LENGTH "${json}" kernels)
math(EXPR last "${count} - 1")

foreach(v RANGE 1 7)
  set(min_${v} 1000)
  set(max_${v} 0)
  set(seen_${v} 0)
endforeach()
foreach(i RANGE ${last})
  string(JSON name GET "${json}" kernels ${i} name)
  if(NOT name MATCHES "sgemm_v([1-7])_kernel<")
    continue()
  endif()
  set(v ${CMAKE_MATCH_1})
  math(EXPR seen_${v} "${seen_${v}} + 1")
  foreach(field spill_stores spill_loads fma_rn_f32 ptx_instructions ld_global_v4 ld_shared_v4)
    string(JSON ${field} GET "${json}" kernels ${i} ${field})
  endforeach()
  if(NOT spill_stores EQUAL 0 OR NOT spill_loads EQUAL 0)
    message(FATAL_ERROR "${name} spills: ${spill_stores} bytes stored, ${spill_loads} loaded")
  endif()
  if(v GREATER_EQUAL 6 AND (ld_global_v4 EQUAL 0 OR ld_shared_v4 EQUAL 0))
    message(FATAL_ERROR "${name}: no 128-bit loads (ld.global.v4 ${ld_global_v4}, ld.shared.v4 ${ld_shared_v4})")
  endif()
  if(v LESS 6 AND (NOT ld_global_v4 EQUAL 0 OR NOT ld_shared_v4 EQUAL 0))
    message(FATAL_ERROR "${name}: 128-bit loads before v6 (ld.global.v4 ${ld_global_v4}, ld.shared.v4 ${ld_shared_v4})")
  endif()
  math(EXPR share "${fma_rn_f32} * 1000 / ${ptx_instructions}")
  if(share LESS ${min_${v}})
    set(min_${v} ${share})
  endif()
  if(share GREATER ${max_${v}})
    set(max_${v} ${share})
  endif()
endforeach()

set(summary "")
foreach(v RANGE 1 7)
  if(NOT seen_${v} EQUAL 4)
    message(FATAL_ERROR "sgemm v${v}: ${seen_${v}} instantiations in the report, expected 4 (one per transpose pair)")
  endif()
  string(APPEND summary " v${v} ${min_${v}}-${max_${v}}")
endforeach()
foreach(pair "2;3" "3;5" "4;5" "5;6" "6;7")
  list(GET pair 0 earlier)
  list(GET pair 1 later)
  if(NOT min_${later} GREATER max_${earlier})
    message(FATAL_ERROR "fma share does not rise from v${earlier} to v${later} (per mille:${summary})")
  endif()
endforeach()
message(STATUS "no spills; float4 loads from v6; fma share per mille:${summary}")
