// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title SigLib: strict secp256k1 signature recovery shared by Executors and Jobs.
/// @notice Signatures are 65 bytes r||s||v with v in {27, 28}; high-s (malleable)
///         signatures are rejected. Returns address(0) for anything malformed, so
///         each contract can revert with its own named error.
library SigLib {
    /// secp256k1 curve order / 2 (EIP-2 upper bound for s).
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// EIP-712 domain type used by Oyster: name and version only, no chainId and
    /// no verifyingContract.
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256("EIP712Domain(string name,string version)");

    function domainSeparator(string memory name, string memory version) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256(bytes(version))));
    }

    function digest(bytes32 domainSep, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSep, structHash));
    }

    function tryRecover(bytes32 hash, bytes memory sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > HALF_N || uint256(s) == 0 || uint256(r) == 0) return address(0);
        return ecrecover(hash, v, r, s);
    }
}
