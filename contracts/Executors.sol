// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./SigLib.sol";

/// @title Executors (test/dev stand-in for Oyster Serverless's Executors contract)
/// @notice Registration of enclave executors, without token staking. An owner
///         registers an enclave by presenting an EIP-712 `Register` message signed
///         by the enclave key. Registered executors are kept per env in
///         registration order; Jobs selects from that list (see selectExecutors).
contract Executors {
    struct Executor {
        address owner;
        uint256 jobCapacity;   // stored, not enforced
        uint8 env;
        bool draining;
        bool registered;
        uint256 stakeAmount;   // stored for ABI compatibility; no token moves
        uint256 registeredAt;  // block.timestamp of registration
    }

    /// @notice Maximum age of a registration signature, in seconds.
    uint256 public immutable SIGN_MAX_AGE;

    /// @notice How far a registration signature's timestamp may be ahead of
    /// block.timestamp, in seconds.  The enclave signs with its own clock and
    /// a block's timestamp lags the wall clock (the pending block of a gas
    /// estimate carries the last block's time), so an exact bound refuses
    /// honest registrations at second boundaries.
    uint256 public constant SIGN_MAX_SKEW = 60;

    bytes32 public constant REGISTER_TYPEHASH =
        keccak256("Register(address owner,uint256 jobCapacity,uint8 env,uint256 signTimestamp)");

    /// keccak256(abi.encode(keccak256("EIP712Domain(string name,string version)"),
    ///   keccak256("marlin.oyster.Executors"), keccak256("1")))
    bytes32 private constant _DOMAIN_SEPARATOR = 0x871063a5a882629313a49affd6d5731126799cfa9053a1481fe360bb79fd49a3;

    /// @notice enclave address => executor record (zeroed on deregistration).
    mapping(address => Executor) public executors;

    // env => registered enclaves (draining included), in registration order.
    mapping(uint8 => address[]) private _envExecutors;
    // enclave => 1-based position in _envExecutors[env]; 0 when not listed.
    mapping(address => uint256) private _pos;

    event ExecutorRegistered(address indexed enclaveAddress, address indexed owner, uint256 jobCapacity, uint8 env);
    event ExecutorDeregistered(address indexed enclaveAddress);
    event ExecutorDrained(address indexed enclaveAddress);
    event ExecutorRevived(address indexed enclaveAddress);

    error ExecutorsInvalidPubKeyLength();
    error ExecutorsInvalidJobCapacity();
    error ExecutorsSignatureTooOld();
    error ExecutorsSignatureInFuture();
    error ExecutorsInvalidSignature();
    error ExecutorsInvalidSigner();
    error ExecutorsAlreadyRegistered();
    error ExecutorsNotRegistered();
    error ExecutorsNotOwner();
    error ExecutorsAlreadyDraining();
    error ExecutorsNotDraining();

    constructor(uint256 signMaxAge) {
        SIGN_MAX_AGE = signMaxAge;
        // The constant must match the computed separator (guards against typos).
        assert(SigLib.domainSeparator("marlin.oyster.Executors", "1") == _DOMAIN_SEPARATOR);
    }

    function DOMAIN_SEPARATOR() external pure returns (bytes32) {
        return _DOMAIN_SEPARATOR;
    }

    //------------------------------------------------------------------ owner actions

    /// @param enclavePubKey 64-byte uncompressed public key X||Y (no 0x04 prefix).
    /// @param signature 65-byte r||s||v (v 27/28) by the enclave key over the EIP-712
    ///        Register(owner = msg.sender, jobCapacity, env, signTimestamp).
    /// @param stakeAmount stored only (no token transfer).
    function registerExecutor(
        bytes calldata enclavePubKey,
        uint256 jobCapacity,
        uint256 signTimestamp,
        bytes calldata signature,
        uint256 stakeAmount,
        uint8 env
    ) external {
        if (enclavePubKey.length != 64) revert ExecutorsInvalidPubKeyLength();
        if (jobCapacity == 0) revert ExecutorsInvalidJobCapacity();
        if (signTimestamp > block.timestamp + SIGN_MAX_SKEW) revert ExecutorsSignatureInFuture();
        if (block.timestamp > signTimestamp + SIGN_MAX_AGE) revert ExecutorsSignatureTooOld();

        address enclaveAddress = address(uint160(uint256(keccak256(enclavePubKey))));
        bytes32 structHash = keccak256(abi.encode(REGISTER_TYPEHASH, msg.sender, jobCapacity, env, signTimestamp));
        address signer = SigLib.tryRecover(SigLib.digest(_DOMAIN_SEPARATOR, structHash), signature);
        if (signer == address(0)) revert ExecutorsInvalidSignature();
        if (signer != enclaveAddress) revert ExecutorsInvalidSigner();
        if (executors[enclaveAddress].registered) revert ExecutorsAlreadyRegistered();

        executors[enclaveAddress] = Executor({
            owner: msg.sender,
            jobCapacity: jobCapacity,
            env: env,
            draining: false,
            registered: true,
            stakeAmount: stakeAmount,
            registeredAt: block.timestamp
        });
        _envExecutors[env].push(enclaveAddress);
        _pos[enclaveAddress] = _envExecutors[env].length;

        emit ExecutorRegistered(enclaveAddress, msg.sender, jobCapacity, env);
    }

    function drainExecutor(address enclaveAddress) external {
        Executor storage e = _owned(enclaveAddress);
        if (e.draining) revert ExecutorsAlreadyDraining();
        e.draining = true;
        emit ExecutorDrained(enclaveAddress);
    }

    function reviveExecutor(address enclaveAddress) external {
        Executor storage e = _owned(enclaveAddress);
        if (!e.draining) revert ExecutorsNotDraining();
        e.draining = false;
        emit ExecutorRevived(enclaveAddress);
    }

    /// @notice Requires the executor to be draining first. The enclave may register again later.
    function deregisterExecutor(address enclaveAddress) external {
        Executor storage e = _owned(enclaveAddress);
        if (!e.draining) revert ExecutorsNotDraining();
        uint8 env = e.env;

        // Ordered removal keeps the registration order of the others (deterministic selection).
        address[] storage list = _envExecutors[env];
        uint256 i = _pos[enclaveAddress] - 1;
        uint256 last = list.length - 1;
        for (; i < last; i++) {
            address next = list[i + 1];
            list[i] = next;
            _pos[next] = i + 1;
        }
        list.pop();
        delete _pos[enclaveAddress];
        delete executors[enclaveAddress];

        emit ExecutorDeregistered(enclaveAddress);
    }

    function _owned(address enclaveAddress) private view returns (Executor storage e) {
        e = executors[enclaveAddress];
        if (!e.registered) revert ExecutorsNotRegistered();
        if (e.owner != msg.sender) revert ExecutorsNotOwner();
    }

    //------------------------------------------------------------------ views

    function getOwner(address enclaveAddress) external view returns (address) {
        return executors[enclaveAddress].owner;
    }

    function isRegistered(address enclaveAddress) external view returns (bool) {
        return executors[enclaveAddress].registered;
    }

    /// @notice Registered and not draining.
    function isActive(address enclaveAddress) public view returns (bool) {
        Executor storage e = executors[enclaveAddress];
        return e.registered && !e.draining;
    }

    /// @notice All registered executors of env (draining included), registration order.
    function getExecutors(uint8 env) external view returns (address[] memory) {
        return _envExecutors[env];
    }

    /// @notice Registered, non-draining executors of env, registration order.
    function getActiveExecutors(uint8 env) external view returns (address[] memory out) {
        address[] storage list = _envExecutors[env];
        out = new address[](list.length);
        uint256 n;
        for (uint256 i; i < list.length; i++) {
            if (!executors[list[i]].draining) out[n++] = list[i];
        }
        assembly { mstore(out, n) }
    }

    function activeExecutorCount(uint8 env) external view returns (uint256 n) {
        address[] storage list = _envExecutors[env];
        for (uint256 i; i < list.length; i++) {
            if (!executors[list[i]].draining) n++;
        }
    }

    /// @notice Deterministic selection used by Jobs: walk the registration-ordered
    ///         list of env starting at index (seed % length), wrapping around,
    ///         skipping draining executors, until n are picked. Returns fewer than
    ///         n addresses when not enough are available.
    function selectExecutors(uint8 env, uint256 n, uint256 seed) external view returns (address[] memory out) {
        address[] storage list = _envExecutors[env];
        uint256 len = list.length;
        out = new address[](n < len ? n : len);
        if (len == 0) return out;
        uint256 start = seed % len;
        uint256 got;
        for (uint256 i; i < len && got < n; i++) {
            address a = list[(start + i) % len];
            if (!executors[a].draining) out[got++] = a;
        }
        assembly { mstore(out, got) }
    }
}
