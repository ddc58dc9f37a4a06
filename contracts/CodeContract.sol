// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title CodeContract (test/dev stand-in for Oyster's code contract)
/// @notice Stores nothing: the JavaScript code lives in the calldata of the
///         transaction that calls saveCodeInCallData. Executors fetch it with
///         eth_getTransactionByHash(codehash) and decode the string argument.
contract CodeContract {
    /// @notice Emitted for every upload; metadata is empty for the old form.
    event CodeCreated(address indexed owner, bytes metadata);

    /// @notice Current form. Selector 0x1ae53fea.
    function saveCodeInCallData(string calldata inputData, bytes calldata metadata) external {
        inputData; // the code lives in calldata only
        emit CodeCreated(msg.sender, metadata);
    }

    /// @notice Older form. Selector 0xff7cdaf3.
    function saveCodeInCallData(string calldata inputData) external {
        inputData;
        emit CodeCreated(msg.sender, "");
    }
}
