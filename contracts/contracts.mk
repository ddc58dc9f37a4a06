# Makefile fragment for the project's test/dev Solidity contracts.
# Included by the top-level Makefile (`include contracts/contracts.mk`); uses $(BUILD).
#
#   $(BUILD)/contracts/.stamp   compile contracts/*.sol with the pinned solc-js into
#                               $(BUILD)/contracts/<Name>.abi and <Name>.bin
#   make test-contracts         run tests/contracts/t*.sh (each against its own anvil)

CONTRACTS_SRC   := $(wildcard contracts/*.sol)
CONTRACTS_STAMP := $(BUILD)/contracts/.stamp
CONTRACTS_TESTS  = $(sort $(wildcard tests/contracts/t*.sh))

$(BUILD)/contracts/.stamp: $(CONTRACTS_SRC) scripts/build-contracts.sh $(wildcard node_modules/solc/package.json)
	@scripts/build-contracts.sh $(BUILD)/contracts
	@touch $@

.PHONY: test-contracts
test-contracts: $(BUILD)/contracts/.stamp
	@pass=0; fail=0; failed=""; \
	for t in $(CONTRACTS_TESTS); do \
	  if BUILD=$(BUILD) $$t; then pass=$$((pass + 1)); \
	  else fail=$$((fail + 1)); failed="$$failed $$t"; fi; \
	done; \
	[ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "contracts: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]
