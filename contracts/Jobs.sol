// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./SigLib.sol";
import "./Executors.sol";

/// @title Jobs (test/dev stand-in for Oyster Serverless's Jobs contract)
/// @notice Job creation with deterministic executor selection, signed output
///         submission and slashing on execution timeout. No tokens move.
///         Job ids start at 0 and increase by one (like the original `jobs.length`).
contract Jobs {
    struct Job {
        address jobOwner;
        uint8 env;
        uint8 outputCount;
        bool closed;           // set by slashOnExecutionTimeout
        bytes32 codehash;
        uint256 execStartTime; // block.timestamp at creation, seconds
        uint256 deadline;      // milliseconds
        address[] selectedExecutors;
        mapping(address => uint8) status; // 0 not selected, 1 selected, 2 submitted
    }

    uint8 private constant _SELECTED = 1;
    uint8 private constant _SUBMITTED = 2;

    Executors public immutable EXECUTORS;
    uint256 public immutable NO_OF_NODES_TO_SELECT;
    /// @notice seconds
    uint256 public immutable EXECUTION_BUFFER_TIME;
    /// @notice seconds
    uint256 public immutable SIGN_MAX_AGE;
    /// @notice milliseconds
    uint256 public immutable MIN_DEADLINE;
    /// @notice milliseconds
    uint256 public immutable MAX_DEADLINE;

    bytes32 public constant SUBMIT_OUTPUT_TYPEHASH =
        keccak256("SubmitOutput(uint256 jobId,bytes output,uint256 totalTime,uint8 errorCode,uint256 signTimestamp)");

    /// keccak256(abi.encode(keccak256("EIP712Domain(string name,string version)"),
    ///   keccak256("marlin.oyster.Jobs"), keccak256("1")))
    bytes32 private constant _DOMAIN_SEPARATOR = 0x92348788277b460cc420185f9a17ff6b57b89f1c70d19a46fce67bb5b5319731;

    Job[] private _jobs;

    event JobCreated(
        uint256 indexed jobId,
        uint8 indexed env,
        address indexed jobOwner,
        bytes32 codehash,
        bytes codeInputs,
        uint256 deadline,
        address[] selectedExecutors
    );
    event JobResponded(
        uint256 indexed jobId,
        address indexed executor,
        bytes output,
        uint256 totalTime,
        uint8 errorCode,
        uint8 outputCount
    );
    event SlashedOnExecutionTimeout(uint256 indexed jobId, address indexed enclaveAddress);

    error JobsInvalidConfig();
    error JobsInvalidDeadline();
    error JobsUnavailableExecutors();
    error JobsUnknownJob();
    error JobsJobClosed();
    error JobsDeadlineOver();
    error JobsDeadlineNotOver();
    error JobsSignatureTooOld();
    error JobsInvalidSignature();
    error JobsNotSelectedExecutor();
    error JobsAlreadySubmitted();
    error JobsNothingToSlash();

    constructor(
        address executors,
        uint256 noOfNodesToSelect,
        uint256 executionBufferTime,
        uint256 signMaxAge,
        uint256 minDeadline,
        uint256 maxDeadline
    ) {
        if (
            executors == address(0) || noOfNodesToSelect == 0 || noOfNodesToSelect > type(uint8).max
                || minDeadline == 0 || minDeadline > maxDeadline
        ) revert JobsInvalidConfig();
        assert(SigLib.domainSeparator("marlin.oyster.Jobs", "1") == _DOMAIN_SEPARATOR);
        EXECUTORS = Executors(executors);
        NO_OF_NODES_TO_SELECT = noOfNodesToSelect;
        EXECUTION_BUFFER_TIME = executionBufferTime;
        SIGN_MAX_AGE = signMaxAge;
        MIN_DEADLINE = minDeadline;
        MAX_DEADLINE = maxDeadline;
    }

    function DOMAIN_SEPARATOR() external pure returns (bytes32) {
        return _DOMAIN_SEPARATOR;
    }

    //------------------------------------------------------------------ job owner

    /// @param deadline milliseconds, within [MIN_DEADLINE, MAX_DEADLINE].
    /// @return jobId starting at 0.
    function createJob(uint8 env, bytes32 codehash, bytes calldata codeInputs, uint256 deadline)
        external
        returns (uint256 jobId)
    {
        if (deadline < MIN_DEADLINE || deadline > MAX_DEADLINE) revert JobsInvalidDeadline();
        jobId = _jobs.length;
        address[] memory selected = EXECUTORS.selectExecutors(env, NO_OF_NODES_TO_SELECT, jobId);
        if (selected.length < NO_OF_NODES_TO_SELECT) revert JobsUnavailableExecutors();

        Job storage j = _jobs.push();
        j.jobOwner = msg.sender;
        j.env = env;
        j.codehash = codehash;
        j.execStartTime = block.timestamp;
        j.deadline = deadline;
        j.selectedExecutors = selected;
        for (uint256 i; i < selected.length; i++) {
            j.status[selected[i]] = _SELECTED;
        }

        emit JobCreated(jobId, env, msg.sender, codehash, codeInputs, deadline, selected);
    }

    //------------------------------------------------------------------ executors

    /// @notice Anyone may send this; the signer of the EIP-712 SubmitOutput message
    ///         (the enclave key) identifies the executor. totalTime is capped at the
    ///         job deadline in the event, like the original.
    function submitOutput(
        bytes calldata signature,
        uint256 jobId,
        bytes calldata output,
        uint256 totalTime,
        uint8 errorCode,
        uint256 signTimestamp
    ) external {
        Job storage j = _job(jobId);
        if (block.timestamp * 1000 > _lastSubmitMs(j)) revert JobsDeadlineOver();
        if (block.timestamp > signTimestamp + SIGN_MAX_AGE) revert JobsSignatureTooOld();

        bytes32 structHash = keccak256(
            abi.encode(SUBMIT_OUTPUT_TYPEHASH, jobId, keccak256(output), totalTime, errorCode, signTimestamp)
        );
        address signer = SigLib.tryRecover(SigLib.digest(_DOMAIN_SEPARATOR, structHash), signature);
        if (signer == address(0)) revert JobsInvalidSignature();
        uint8 st = j.status[signer];
        if (st == 0) revert JobsNotSelectedExecutor();
        if (st == _SUBMITTED) revert JobsAlreadySubmitted();

        j.status[signer] = _SUBMITTED;
        uint8 count = ++j.outputCount;
        if (totalTime > j.deadline) totalTime = j.deadline;
        emit JobResponded(jobId, signer, output, totalTime, errorCode, count);
    }

    /// @notice Allowed once deadline + EXECUTION_BUFFER_TIME has passed; emits
    ///         SlashedOnExecutionTimeout for each selected executor that did not
    ///         submit, then closes the job.
    function slashOnExecutionTimeout(uint256 jobId) external {
        Job storage j = _job(jobId);
        if (j.closed) revert JobsJobClosed();
        if (block.timestamp * 1000 <= _lastSubmitMs(j)) revert JobsDeadlineNotOver();
        uint256 n = j.selectedExecutors.length;
        if (j.outputCount >= n) revert JobsNothingToSlash();
        j.closed = true;
        for (uint256 i; i < n; i++) {
            address a = j.selectedExecutors[i];
            if (j.status[a] != _SUBMITTED) emit SlashedOnExecutionTimeout(jobId, a);
        }
    }

    //------------------------------------------------------------------ views

    function jobCount() external view returns (uint256) {
        return _jobs.length;
    }

    function jobs(uint256 jobId)
        external
        view
        returns (
            address jobOwner,
            uint8 env,
            bytes32 codehash,
            uint256 execStartTime,
            uint256 deadline,
            uint8 outputCount,
            bool closed
        )
    {
        Job storage j = _job(jobId);
        return (j.jobOwner, j.env, j.codehash, j.execStartTime, j.deadline, j.outputCount, j.closed);
    }

    function getSelectedExecutors(uint256 jobId) external view returns (address[] memory) {
        return _job(jobId).selectedExecutors;
    }

    function isSelectedExecutor(uint256 jobId, address enclaveAddress) external view returns (bool) {
        return _job(jobId).status[enclaveAddress] != 0;
    }

    function hasSubmitted(uint256 jobId, address enclaveAddress) external view returns (bool) {
        return _job(jobId).status[enclaveAddress] == _SUBMITTED;
    }

    //------------------------------------------------------------------ internal

    function _job(uint256 jobId) private view returns (Job storage) {
        if (jobId >= _jobs.length) revert JobsUnknownJob();
        return _jobs[jobId];
    }

    /// Last millisecond timestamp at which an output is accepted.
    function _lastSubmitMs(Job storage j) private view returns (uint256) {
        return j.execStartTime * 1000 + j.deadline + EXECUTION_BUFFER_TIME * 1000;
    }
}
