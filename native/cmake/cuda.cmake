# The cuda backend: included from CMakeLists.txt when FLEETRT_CUDA is AUTO or ON. Sets
# FLEETRT_HAVE_CUDA and defines fleetrt_cuda (an OBJECT library of native/src/backends/cuda/, so
# the kernel registrations are never dropped) and fleetrt_cuda_libs (what it links: the static
# CUDA runtime). cuBLAS is compiled against here but loaded when a cuda device opens
# (cuda_blas.cpp), from the folder found here, else by its soname.
function(fleetrt_cuda_missing why)
  if(FLEETRT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "fleetrt: FLEETRT_CUDA=ON but ${why}")
  endif()
  message(STATUS "fleetrt: ${why}; building without the cuda backend")
endfunction()

find_package(CUDAToolkit QUIET)
if(NOT CUDAToolkit_FOUND OR NOT CUDAToolkit_NVCC_EXECUTABLE)
  fleetrt_cuda_missing("no CUDA toolkit (nvcc) found")
  return()
endif()

# cuBLAS: the toolkit's, else FLEETRT_CUBLAS_ROOT, else a copy unpacked into native/.deps/cublas
# (native/tests/cuda/unpack-cublas.sh), else the one Python's nvidia-cublas wheel installed.
# Compiling needs its headers only (fleetrt loads the library when a cuda device opens).
if(TARGET CUDA::cublas AND CUDA_cublas_LIBRARY)
  get_filename_component(_fleetrt_cublas_dir ${CUDA_cublas_LIBRARY} DIRECTORY)
  set(_fleetrt_cublas_inc ${CUDAToolkit_INCLUDE_DIRS})
else()
  set(_hints ${FLEETRT_CUBLAS_ROOT} ${CMAKE_CURRENT_SOURCE_DIR}/.deps/cublas/nvidia/cu13)
  find_package(Python3 QUIET COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    execute_process(COMMAND ${Python3_EXECUTABLE} -c "import nvidia, os; print(';'.join(os.path.join(p, 'cu13') for p in nvidia.__path__))"
                    OUTPUT_VARIABLE _py OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    list(APPEND _hints ${_py})
  endif()
  find_path(_fleetrt_cublas_inc cublas_v2.h HINTS ${_hints} PATH_SUFFIXES include NO_DEFAULT_PATH)
  find_library(_fleetrt_cublas_lib NAMES cublas libcublas.so.13 HINTS ${_hints} PATH_SUFFIXES lib lib64 NO_DEFAULT_PATH)
  # The build needs the headers only; a library found beside them is where fleetrt looks first.
  if(NOT _fleetrt_cublas_inc)
    fleetrt_cuda_missing("the CUDA toolkit has no cuBLAS (set FLEETRT_CUBLAS_ROOT, or run native/tests/cuda/unpack-cublas.sh)")
    unset(_fleetrt_cublas_inc CACHE)
    unset(_fleetrt_cublas_lib CACHE)
    return()
  endif()
  if(_fleetrt_cublas_lib)
    get_filename_component(_fleetrt_cublas_dir ${_fleetrt_cublas_lib} DIRECTORY)
  else()
    unset(_fleetrt_cublas_lib CACHE)
    set(_fleetrt_cublas_dir "")
  endif()
endif()

# Architectures: FLEETRT_CUDA_ARCHITECTURES when given; else the GPUs of this machine when
# nvidia-smi sees them (their compute capabilities, Hopper as sm_90a for its own instructions);
# else a fixed list (Ampere, and Hopper with sm_90a).
if(DEFINED FLEETRT_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES ${FLEETRT_CUDA_ARCHITECTURES})
elseif(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                  RESULT_VARIABLE _smi OUTPUT_VARIABLE _caps OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  set(_archs "")
  if(_smi EQUAL 0)
    string(REPLACE "\n" ";" _caps "${_caps}")
    foreach(_cap IN LISTS _caps)
      if(_cap MATCHES "^([0-9]+)\\.([0-9]+)")
        set(_arch "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
        if(_arch STREQUAL "90")
          set(_arch "90a")
        endif()
        list(APPEND _archs ${_arch})
      endif()
    endforeach()
    list(REMOVE_DUPLICATES _archs)
  endif()
  if(_archs)
    set(CMAKE_CUDA_ARCHITECTURES "${_archs}")
  else()
    set(CMAKE_CUDA_ARCHITECTURES "80;90a")
  endif()
endif()
if(NOT CMAKE_CUDA_COMPILER)
  set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

file(GLOB FLEETRT_CUDA_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backends/cuda/*.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/src/backends/cuda/*.cu)
add_library(fleetrt_cuda OBJECT ${FLEETRT_CUDA_SOURCES})
target_include_directories(fleetrt_cuda PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/src
                           ${CUDAToolkit_INCLUDE_DIRS} ${_fleetrt_cublas_inc})
target_compile_definitions(fleetrt_cuda PRIVATE FLEETRT_HAVE_CUDA=1 FLEETRT_CUBLAS_DIR="${_fleetrt_cublas_dir}")
target_compile_options(fleetrt_cuda PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-missing-field-initializers>
                       $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)
set_target_properties(fleetrt_cuda PROPERTIES CUDA_SEPARABLE_COMPILATION OFF POSITION_INDEPENDENT_CODE OFF)

add_library(fleetrt_cuda_libs INTERFACE)
target_link_libraries(fleetrt_cuda_libs INTERFACE CUDA::cudart_static ${CMAKE_DL_LIBS})
target_compile_definitions(fleetrt_core PRIVATE FLEETRT_HAVE_CUDA=1)
set(FLEETRT_HAVE_CUDA ON)
set(FLEETRT_CUBLAS_LIBRARY_DIR "${_fleetrt_cublas_dir}" CACHE INTERNAL "where cuBLAS was found (native/tests/cuda/device-check.sh)")
set(FLEETRT_CUBLAS_INCLUDE_DIR "${_fleetrt_cublas_inc}" CACHE INTERNAL "")
if(_fleetrt_cublas_dir)
  set(_where "from ${_fleetrt_cublas_dir}")
else()
  set(_where "by its soname when a device opens")
endif()
message(STATUS "fleetrt: cuda backend enabled (CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}, cuBLAS ${_where})")
