# The Lambda package, built by `sam build` through template.yaml's `BuildMethod: makefile`.
#
# sam build runs `make --makefile <this file> build-TranscoderFunction` in a scratch copy of src/
# with ARTIFACTS_DIR set; the recipe builds from this file's directory whatever the working
# directory is. Without SAM: `make package` writes build/package-arm64/ and build/grpc-transcoder-arm64.zip.
#
# Variables (make VAR=value, or the environment: `BYTECODE_PYTHON=... sam build`):
#   PYTHON             runs the build script; any python3 >= 3.11 (default: python3)
#   BYTECODE_PYTHON    a CPython of PYTHON_VERSION that compiles the bytecode (default: found)
#   BOTOCORE_SERVICES  AWS service models kept in the package, or `all` (default: s3,sts)
#   BUILD_FLAGS        more options of `python -m grpc_transcoder_tools.package_build`

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

# template.yaml's Runtime and Architectures (tests/test_template.py keeps them equal).
PYTHON_VERSION := 3.13
ARCHITECTURE := arm64

PYTHON ?= python3
BYTECODE_PYTHON ?=
BOTOCORE_SERVICES ?= s3,sts
BUILD_FLAGS ?=

.PHONY: build-TranscoderFunction package

build-TranscoderFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 2; }
	PYTHONPATH="$(ROOT)/tools" $(PYTHON) -m grpc_transcoder_tools.package_build \
		--output "$(ARTIFACTS_DIR)" --clean --source "$(ROOT)/src" --cache "$(ROOT)/build/wheels" \
		--architecture $(ARCHITECTURE) --python-version $(PYTHON_VERSION) \
		--python "$(BYTECODE_PYTHON)" --botocore-services "$(BOTOCORE_SERVICES)" $(BUILD_FLAGS)

package:
	$(MAKE) --no-print-directory --makefile "$(ROOT)/Makefile" build-TranscoderFunction \
		ARTIFACTS_DIR="$(ROOT)/build/package-$(ARCHITECTURE)" \
		BUILD_FLAGS="--zip $(ROOT)/build/grpc-transcoder-$(ARCHITECTURE).zip $(BUILD_FLAGS)"
