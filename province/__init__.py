"""A running province node: configuration, the :class:`~province.node.ProvinceNode` that wires
storage, services and the chain together, organisation filing mirrored to the contract,
privacy-key rotation and replay after a restore."""
