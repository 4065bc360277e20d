# ruvector_tam: PGXS build.  `make test` runs every suite, `make demo` the
# end-to-end job; see README.md.  Sources are picked up by wildcard so each
# layer (src/simd, src/toast, src/tam, src/index) owns its own files.

EXTENSION = ruvector_tam
EXTVERSION = 0.3.0
MODULE_big = ruvector_tam

# src/simd/kern_*.c are kernel families compiled once per ISA (below), so
# they are not plain sources: kern_f32.c -> kern_f32_scalar.o, ..._avx2.o.
RV_KERN_SRCS = $(sort $(wildcard src/simd/kern_*.c))
SRCS = $(sort $(filter-out $(RV_KERN_SRCS),$(wildcard src/*.c src/simd/*.c src/toast/*.c src/tam/*.c src/tam/store/*.c src/tam/scan/*.c src/index/*.c)))
RV_ISAS = scalar
ifneq ($(filter x86_64 amd64,$(shell uname -m)),)
RV_ISAS += sse2 avx2 avx512
endif
ifneq ($(filter aarch64 arm64,$(shell uname -m)),)
RV_ISAS += neon
endif
RV_KERN_OBJS = $(foreach isa,$(RV_ISAS),$(RV_KERN_SRCS:.c=_$(isa).o))
OBJS = $(SRCS:.c=.o) $(RV_KERN_OBJS)

# The extension script is assembled from one part per layer (sql/parts/NN_*.sql)
# so that each layer keeps its own SQL next to its concern.
SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Older releases' install scripts (kept to test ALTER EXTENSION UPDATE
# from them) and the upgrade scripts.
DATA = sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.2.0.sql $(wildcard sql/$(EXTENSION)--*--*.sql)

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
ifeq ($(RV_WERROR),1)
PG_CFLAGS += -Werror
endif
ifeq ($(RV_SANITIZE),1)
PG_CFLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -DUSE_ASSERT_CHECKING
SHLIB_LINK += -fsanitize=undefined
endif
SHLIB_LINK += -llz4 -lsodium

# Per-ISA kernel objects: each family source is compiled with one ISA's
# macro (src/simd/rv_simd_isa.h) and code generation flags; the dispatcher
# (src/simd/simd_dispatch.c) chooses at run time.  The default build stays
# portable (no -march=native).
# No LLVM bitcode: JIT inlining of SIMD kernels buys nothing and needs clang.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

RV_ISA_FLAGS_scalar = -DRV_ISA_SCALAR
RV_ISA_FLAGS_sse2 = -DRV_ISA_SSE2
RV_ISA_FLAGS_avx2 = -DRV_ISA_AVX2 -mavx2 -mfma
RV_ISA_FLAGS_avx512 = -DRV_ISA_AVX512 -mavx512f -mavx2 -mfma
RV_ISA_FLAGS_neon = -DRV_ISA_NEON
define RV_KERN_RULE
src/simd/%_$(1).o: src/simd/%.c
	$$(CC) $$(CFLAGS) $$(CPPFLAGS) $$(RV_ISA_FLAGS_$(1)) -c -o $$@ $$<
endef
$(foreach isa,$(RV_ISAS),$(eval $(call RV_KERN_RULE,$(isa))))

$(DATA_built): $(SQL_PARTS) Makefile
	@mkdir -p sql
	( echo "-- ruvector_tam $(EXTVERSION): generated from sql/parts/*.sql by make; do not edit."; \
	  printf "%s\n" "\\echo Use \"CREATE EXTENSION ruvector_tam\" to load this file. \\quit"; \
	  for f in $(SQL_PARTS); do echo; echo "-- ==== $$f"; cat $$f; done ) > $@

$(OBJS): $(wildcard src/*.h src/*/*.h src/*/*/*.h)

.PHONY: test demo bench bench-kernels bench-tam bench-tiers bench-scaleout deps sanitize
deps:
	bash scripts/install-deps.sh

test:
	bash test/run-all.sh

demo:
	bash bench/demo.sh

bench:
	bash bench/bench.sh

bench-kernels:
	bash bench/bench-kernels.sh

sanitize:
	RV_SANITIZE=1 bash test/run-all.sh

bench-tam:
	bash bench/tam-bench.sh

bench-scaleout:
	bash bench/scaleout.sh

bench-tiers:
	bash bench/tiers.sh
