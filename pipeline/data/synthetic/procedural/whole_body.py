"""Whole-body and lower-body actions a director asks for: jumps, squats, sitting, kicks, lunges,
marching, dance steps, stretches, reaching, picking up, pushing, pulling, throwing, celebrating.

Each action is a list of :class:`Key` frames: an upper-body Pose, the pelvis offset from standing,
each ankle's offset from where it stands, the body's heading and the toes' pitch, with the time
from the previous key. Cycles repeat `repetitions` times, times scale with 1/speed, heights with
the amplitude, and a one-legged or one-armed action is mirrored for the other side. Legs come
from leg IK on the ankle targets (a planted foot never slides; an unreachable pelvis is lowered),
arms from the keyed angles, as for every other library action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipeline.motion.rotations import rot_y

from .build import Timeline, animate, base_params
from .easing import keyframes
from .motion import REST_ANKLES, REST_ROOT, Motion
from .pose import ARM_JOINTS, NECK, PELVIS, SPINE, Pose, other, toward
from .registry import register

REST = Pose()
Vec = tuple[float, float, float]
ZERO: Vec = (0.0, 0.0, 0.0)


@dataclass
class Key:
    """One key: reached `dt` seconds (at speed 1) after the previous one. Offsets in metres,
    x toward the person's left, y up, z forward; `travel` moves the whole body (x, z)."""

    dt: float
    pose: Pose = field(default_factory=Pose)
    root: Vec = ZERO
    left: Vec = ZERO
    right: Vec = ZERO
    travel: tuple[float, float] = (0.0, 0.0)
    yaw: float = 0.0
    toes: tuple[float, float] = (0.0, 0.0)      # foot pitch, + points the toes down (on tiptoe)
    ease: str = "smootherstep"


def _mirror_pose(pose: Pose) -> Pose:
    """The pose for the other side: left and right arm channels swapped, lateral/yaw signs flipped."""
    a = pose.angles.copy()
    for part in ("collar", "shoulder", "elbow", "wrist"):
        li, ri = ARM_JOINTS["left"][part], ARM_JOINTS["right"][part]
        a[[li, ri]] = a[[ri, li]]
    for j in (*SPINE, NECK, PELVIS):
        a[j, 1] *= -1
        a[j, 2] *= -1
    return Pose(a)


def mirror_key(key: Key) -> Key:
    """The key for the right side when it was written for the left one."""
    def flip(v: Vec) -> Vec:
        return (-v[0], v[1], v[2])
    return Key(key.dt, _mirror_pose(key.pose), flip(key.root), flip(key.right), flip(key.left),
               (-key.travel[0], key.travel[1]), -key.yaw, (key.toes[1], key.toes[0]), key.ease)


def build_keys(params: dict, rng: np.random.Generator, keys: list[Key]) -> Motion:
    """A Motion following `keys` (the first key is the start, usually standing)."""
    amp = float(params.get("amplitude", 1.0))
    tl = Timeline(params, rng, jitter=0.06)
    times = [tl.now]
    for key in keys[1:]:
        times.append(tl.after(key.dt))
    motion = animate(tl.motion(), times, [k.pose for k in keys], [k.ease for k in keys[1:]], rng, lag=0.6)
    t = motion.t
    eases = [k.ease for k in keys[1:]]
    root = keyframes(t, times, np.array([k.root for k in keys]) * [1.0, amp, 1.0], eases)
    travel = keyframes(t, times, np.array([k.travel for k in keys]), eases)
    yaw = keyframes(t, times, np.array([k.yaw for k in keys]), eases)
    toes = keyframes(t, times, np.array([k.toes for k in keys]), eases)
    feet = [keyframes(t, times, np.array([getattr(k, s) for k in keys]) * [1.0, amp, 1.0], eases)
            for s in ("left", "right")]
    for k in range(2):   # a heel raised on the toes lifts the ankle with it
        feet[k][:, 1] += HEEL_TO_TOE * np.sin(np.radians(np.clip(toes[:, k], 0.0, None)))
    rot = rot_y(np.radians(yaw))                                        # (T, 3, 3)
    move = np.stack([travel[:, 0], np.zeros_like(yaw), travel[:, 1]], -1)
    motion.root = REST_ROOT + move + root
    for k in range(2):
        motion.ankles[:, k] = move + (rot @ (REST_ANKLES[k] + feet[k])[..., None])[..., 0]
    motion.angles[:, PELVIS, 2] += yaw
    motion.foot_yaw[:] = yaw[:, None]
    motion.foot_pitch[:] = toes
    return motion


def _cycle(params: dict, start: list[Key], cycle: list[Key], end: list[Key]) -> list[Key]:
    return start + cycle * max(1, int(params.get("repetitions", 1))) + end


def _sided(keys: list[Key], side: str) -> list[Key]:
    return [mirror_key(k) for k in keys] if side == "right" else keys


def _action(name: str, make, sample, captions, locomotion: str = "none", region: str = "body") -> None:
    def build(params: dict, rng: np.random.Generator) -> Motion:
        return build_keys(params, rng, make(params, rng))
    register(name, build, sample, captions, locomotion=locomotion, region=region)


def _params(side=None, sides=("left", "right"), reps=(1, 1), speed=(0.7, 1.4), amplitude=(0.8, 1.15)):
    def sample(rng: np.random.Generator) -> dict:
        return base_params(rng, side=side, sides=sides, repetitions=reps, speed=speed, amplitude=amplitude)
    return sample


STAND = Key(0.0)
ARMS_BACK = REST.arm("both", abduction=5, flexion=-35, elbow=20).spine(flexion=12)
ARMS_UP = REST.arm("both", abduction=20, flexion=150, elbow=10)
CROUCH: Vec = (0.0, -0.16, -0.02)
HEEL_TO_TOE = 0.13
"""Ankle to the ball of the foot (m): how far a heel raise lifts the ankle."""


# ------------------------------------------------------------------------------------- jumps
def _jump_keys(params, rng, forward: float = 0.0, turn: float = 0.0, arms: Pose = ARMS_UP,
               spread: float = 0.0) -> list[Key]:
    height = 0.18 * params["amplitude"]
    keys = [STAND]
    z, yaw = 0.0, 0.0
    for _ in range(max(1, params["repetitions"])):
        keys.append(Key(0.45, ARMS_BACK, root=CROUCH, travel=(0.0, z), yaw=yaw))
        z2, yaw2 = z + forward, yaw + turn
        mid_z, mid_yaw = (z + z2) / 2, (yaw + yaw2) / 2
        keys.append(Key(0.22, arms, root=(0.0, height, 0.0), left=(spread, height - 0.02, 0.0),
                        right=(-spread, height - 0.02, 0.0), travel=(0.0, mid_z), yaw=mid_yaw, toes=(30, 30),
                        ease="out"))
        keys.append(Key(0.22, arms.spine(flexion=5), root=(0.0, 0.02, 0.0),
                        left=(spread, 0.0, 0.0), right=(-spread, 0.0, 0.0), travel=(0.0, z2), yaw=yaw2, ease="in"))
        keys.append(Key(0.3, ARMS_BACK.spine(flexion=8), root=(0.0, -0.12, 0.0), travel=(0.0, z2), yaw=yaw2))
        z, yaw = z2, yaw2
    keys.append(Key(0.55, REST, travel=(0.0, z), yaw=yaw))
    return keys


_action("jump_in_place", lambda p, r: _jump_keys(p, r), _params(side="both", reps=(1, 3)), (
    "{subj} jumps up and down{times}.",
    "{subj} jumps straight up in place{adv}.",
    "{subj} bends their knees and hops up{times}, landing on both feet.",
    "{subj} does a vertical jump{adv} and lands softly.",
    "{subj} leaps into the air on the spot.",
), locomotion="jump", region="legs")
_action("jump_forward", lambda p, r: _jump_keys(p, r, forward=0.45 * p["amplitude"]),
        _params(side="both", reps=(1, 2)), (
    "{subj} jumps forward{times}.",
    "{subj} does a standing long jump{adv}.",
    "{subj} swings their arms and leaps ahead with both feet.",
    "{subj} hops forward{adv} and lands on both feet.",
), locomotion="jump", region="legs")
_action("jump_turn", lambda p, r: _jump_keys(p, r, turn=toward(p["side"]) * p["angle"]),
        lambda rng: {**_params(reps=(1, 1))(rng), "angle": float(rng.choice([90.0, 180.0]))}, (
    "{subj} jumps and turns to the {side} in the air.",
    "{subj} does a jump turn toward their {side}{adv}.",
    "{subj} leaps up and spins to the {side} before landing.",
    "{subj} jumps, rotating {adv} to face the {side}.",
), locomotion="turn", region="legs")
_action("jumping_jacks", lambda p, r: _jump_keys(p, r, arms=REST.arm("both", abduction=160, flexion=10, elbow=5),
                                                  spread=0.16), _params(side="both", reps=(2, 5)), (
    "{subj} does jumping jacks{times}.",
    "{subj} jumps while spreading their legs and clapping their hands above their head.",
    "{subj} does star jumps{adv}, arms and legs out.",
    "{subj} performs{adv} a few jumping jacks.",
), locomotion="jump", region="legs")
_action("celebrate", lambda p, r: _jump_keys(p, r, arms=REST.arm("both", abduction=40, flexion=140, elbow=60)),
        _params(side="both", reps=(1, 3)), (
    "{subj} celebrates, jumping with both fists in the air.",
    "{subj} jumps for joy{times}.",
    "{subj} cheers and leaps up with their arms raised{adv}.",
    "{subj} celebrates a victory by jumping up and down.",
), locomotion="jump", region="legs")


def _hop_keys(p, r):
    s = p["side"]                       # the standing foot
    lifted = (0.0, 0.18, -0.12)
    keys = [STAND, Key(0.45, REST.arm("both", abduction=35, elbow=40), left=ZERO, right=lifted)]
    for _ in range(max(1, p["repetitions"])):
        keys.append(Key(0.2, REST.arm("both", abduction=35, elbow=40), root=(0.0, -0.08, 0.0), right=lifted))
        keys.append(Key(0.18, REST.arm("both", abduction=45, elbow=40), root=(0.0, 0.1, 0.0),
                        left=(0.0, 0.1, 0.0), right=(0.0, 0.26, -0.12), toes=(25, 10), ease="out"))
        keys.append(Key(0.18, REST.arm("both", abduction=35, elbow=40), root=(0.0, -0.05, 0.0), right=lifted,
                        ease="in"))
    keys.append(Key(0.5, REST))
    return _sided(keys, s)


_action("hop_on_one_foot", _hop_keys, _params(reps=(2, 5)), (
    "{subj} hops on their {side} foot{times}.",
    "{subj} lifts one leg and hops on the {side} one{adv}.",
    "{subj} balances on the {side} leg and hops.",
    "{subj} hops{adv} on one foot, the {side}.",
), locomotion="jump", region="legs")


# ------------------------------------------------------------------------- squats and sitting
SQUAT_POSE = REST.arm("both", abduction=5, flexion=80, elbow=15).pelvis(pitch=35).spine(flexion=5).head(pitch=-20)
_action("squat", lambda p, r: _cycle(p, [STAND], [
    Key(0.8, SQUAT_POSE, root=(0.0, -0.38, -0.12)), Key(0.3, SQUAT_POSE, root=(0.0, -0.38, -0.12)),
    Key(0.8, REST)], [Key(0.3, REST)]), _params(side="both", reps=(1, 4)), (
    "{subj} does a squat{times}.",
    "{subj} bends their knees and squats down{adv}, then stands back up.",
    "{subj} squats with arms held out in front{times}.",
    "{subj} lowers into a deep squat{adv} and rises.",
), region="legs")
SEATED = REST.pelvis(pitch=8).spine(flexion=4).arm("both", abduction=8, flexion=40, elbow=50)
LEAN_IN = REST.pelvis(pitch=40).spine(flexion=10).arm("both", abduction=10, flexion=30, elbow=30)
SEAT: Vec = (0.0, -0.45, -0.24)


def _sit_keys(p, r):
    return [STAND, Key(0.5, REST.pelvis(pitch=15)), Key(0.9, LEAN_IN, root=(0.0, -0.3, -0.16)),
            Key(0.5, SEATED, root=SEAT), Key(0.6 + p["hold"], SEATED, root=SEAT)]


def _stand_keys(p, r):
    return [Key(0.0, SEATED, root=SEAT), Key(0.4 + p["hold"], SEATED, root=SEAT),
            Key(0.5, LEAN_IN, root=(0.0, -0.36, -0.18)), Key(0.9, REST.pelvis(pitch=10), root=(0.0, -0.05, -0.02)),
            Key(0.5, REST)]


_action("sit_down", _sit_keys, _params(side="both", speed=(0.7, 1.2)), (
    "{subj} sits down on a chair{adv}.",
    "{subj} lowers themselves onto a seat behind {obj}.",
    "{subj} bends their knees and sits down.",
    "{subj} takes a seat{adv}.",
), region="legs")
_action("stand_up", _stand_keys, _params(side="both", speed=(0.7, 1.2)), (
    "{subj} stands up from a chair{adv}.",
    "{subj} rises from their seat.",
    "{subj} leans forward and gets up from sitting.",
    "{subj} gets to their feet{adv}.",
), region="legs")


# ---------------------------------------------------------------------------------- kicks
def _kick_keys(p, r, sideways: bool):
    kick = p["side"]
    reach = 0.5 * p["amplitude"]
    lift = (0.35 * (1 if sideways else 0), 0.45, 0.0 if sideways else reach)
    pose = (REST.spine(lateral=-14 if sideways else 0, flexion=-8).arm("both", abduction=40, elbow=50)
            if sideways else REST.spine(flexion=-10).arm("both", abduction=25, flexion=20, elbow=60))
    keys = [STAND]
    for _ in range(max(1, p["repetitions"])):
        keys += [Key(0.4, REST.arm("both", abduction=20, elbow=40), root=(-0.03, -0.03, 0.0),
                     left=(0.0, 0.2, -0.12)),
                 Key(0.2, pose, root=(-0.05, 0.0, 0.0), left=lift, ease="out"),
                 Key(0.35, REST.arm("both", abduction=20, elbow=40), left=(0.0, 0.15, 0.0)),
                 Key(0.3, REST)]
    keys.append(Key(0.3, REST))
    return _sided(keys, kick)


for _kind, _side in [(k, s) for k in ("front", "side") for s in ("left", "right")]:
    _action(f"kick_{_kind}_{_side}", (lambda kind: lambda p, r: _kick_keys(p, r, kind == "side"))(_kind),
            _params(side=_side, reps=(1, 3)), (
        ("{subj} kicks forward with their {side} leg{times}." if _kind == "front" else
         "{subj} kicks out to the side with their {side} leg{times}."),
        ("{subj} does a front kick{adv} with the {side} foot." if _kind == "front" else
         "{subj} does a side kick{adv} with the {side} foot."),
        ("{subj} lifts their {side} knee and snaps the foot forward." if _kind == "front" else
         "{subj} raises their {side} leg sideways in a kick."),
        ("{subj} kicks{adv} with the {side} leg, like kicking a ball." if _kind == "front" else
         "{subj} leans away and kicks sideways with the {side} leg."),
    ), locomotion="feet", region="legs")


def _lunge_keys(p, r):
    depth = 0.6 * p["amplitude"]
    pose = REST.spine(flexion=-3).arm("both", abduction=10, flexion=10, elbow=20)
    keys = [STAND]
    for _ in range(max(1, p["repetitions"])):
        keys += [Key(0.3, pose, root=(0.0, -0.08, depth / 5), left=(0.0, 0.1, depth / 2)),
                 Key(0.4, pose, root=(0.0, -0.3, depth / 2), left=(0.0, 0.0, depth), right=(0.0, 0.02, 0.0),
                     toes=(0, 35)),
                 Key(0.4, pose, root=(0.0, -0.32, depth / 2), left=(0.0, 0.0, depth), toes=(0, 35)),
                 Key(0.4, pose, root=(0.0, -0.08, depth / 5), left=(0.0, 0.1, depth / 2)),
                 Key(0.4, REST)]
    keys.append(Key(0.2, REST))
    return _sided(keys, p["side"])


_action("lunge", _lunge_keys, _params(reps=(1, 3)), (
    "{subj} lunges forward with their {side} leg{times}.",
    "{subj} steps into a deep lunge{adv}, {side} foot forward.",
    "{subj} does a forward lunge on the {side} leg and returns.",
    "{subj} lunges{adv} and pushes back to standing.",
), locomotion="feet", region="legs")


def _march_keys(p, r, run: bool):
    steps = 2 * max(2, p["repetitions"])
    keys = [STAND]
    for i in range(steps):
        s = "left" if i % 2 == 0 else "right"
        lifted = (0.0, 0.22, 0.12) if not run else (0.0, 0.25, -0.15)
        swing = 45 if run else 30
        pose = (REST.arm(s, flexion=-swing, elbow=80 if run else 25).arm(other(s), flexion=swing,
                                                                          elbow=80 if run else 25)
                .spine(flexion=6 if run else 0))
        bounce = (0.0, 0.05 if run else 0.0, 0.0)
        kw = {s: lifted, other(s): ZERO}
        keys.append(Key(0.18 if run else 0.32, pose, root=bounce, toes=(20, 0) if s == "left" else (0, 20), **kw))
        keys.append(Key(0.14 if run else 0.28, pose, root=(0.0, -0.03, 0.0)))
    keys.append(Key(0.5, REST))
    return keys


_action("march_in_place", lambda p, r: _march_keys(p, r, False), _params(side="both", reps=(2, 4)), (
    "{subj} marches in place{adv}.",
    "{subj} lifts their knees high, marching on the spot.",
    "{subj} marches without moving forward, swinging their arms.",
    "{subj} stomps their feet in a march{adv}.",
), locomotion="feet", region="legs")
_action("run_in_place", lambda p, r: _march_keys(p, r, True), _params(side="both", reps=(3, 5)), (
    "{subj} runs in place{adv}.",
    "{subj} jogs on the spot, pumping their arms.",
    "{subj} runs without going anywhere.",
    "{subj} jogs in place{adv}.",
), locomotion="feet", region="legs")


def _turn_around_keys(p, r):
    sign = toward(p["side"])
    keys = [STAND]
    for i in range(4):
        s = p["side"] if i % 2 == 0 else other(p["side"])
        keys.append(Key(0.32, REST.head(yaw=sign * 20), **{s: (0.0, 0.1, 0.0)}, yaw=sign * 45 * (i + 0.5)))
        keys.append(Key(0.22, REST, yaw=sign * 45 * (i + 1)))
    keys.append(Key(0.4, REST, yaw=sign * 180))
    return keys


_action("turn_around", _turn_around_keys, _params(), (
    "{subj} turns all the way around{adv}.",
    "{subj} turns their back, spinning 180 degrees to the {side}.",
    "{subj} turns around to face the other way.",
    "{subj} steps around in place until facing backward.",
), locomotion="turn", region="legs")


# ---------------------------------------------------------------------------------- dance
def _step_touch_keys(p, r):
    keys = [STAND]
    w = 0.3 * p["amplitude"]
    x = 0.0
    for i in range(2 * max(1, p["repetitions"])):
        d = 1 if i % 2 == 0 else -1
        arm = REST.arm("both", abduction=30, flexion=35, elbow=80).spine(lateral=d * 6)
        keys.append(Key(0.3, arm, root=(0.0, -0.05, 0.0), travel=(x + d * w / 2, 0.0),
                        left=(0.0, 0.06 if d < 0 else 0.0, 0.0), right=(0.0, 0.06 if d > 0 else 0.0, 0.0)))
        x += d * w
        keys.append(Key(0.3, arm.spine(lateral=d * 3), travel=(x, 0.0), toes=(15, 0) if d < 0 else (0, 15)))
    keys.append(Key(0.4, REST, travel=(x, 0.0)))
    return keys


_action("step_touch", _step_touch_keys, _params(side="both", reps=(2, 4)), (
    "{subj} does a step-touch dance step{adv}.",
    "{subj} steps side to side, tapping the other foot in, dancing.",
    "{subj} dances with a simple side step and touch{times}.",
    "{subj} grooves side to side to the music.",
), locomotion="feet", region="legs")


def _dance_sway_keys(p, r):
    keys = [STAND]
    for i in range(2 * max(1, p["repetitions"])):
        d = 1 if i % 2 == 0 else -1
        up = REST.arm("both", abduction=25 + d * 25, flexion=150, elbow=15).spine(lateral=d * 12)
        keys.append(Key(0.55, up, root=(d * 0.06, -0.04, 0.0), ease="sine"))
    keys.append(Key(0.6, REST))
    return keys


_action("dance_sway", _dance_sway_keys, _params(side="both", reps=(2, 4)), (
    "{subj} sways their hips and waves both arms above their head, dancing.",
    "{subj} dances, swaying side to side with arms in the air{adv}.",
    "{subj} waves their arms overhead while swaying to music.",
    "{subj} dances{adv}, rocking from side to side.",
), region="body")


# ------------------------------------------------------------------ stretches and reaching
_action("stretch_up", lambda p, r: [
    STAND, Key(0.9, REST.arm("both", abduction=15, flexion=170, elbow=5).spine(flexion=-8).head(pitch=-15),
                 root=(0.0, 0.03, 0.0), toes=(25, 25)),
    Key(0.8 + p["hold"], REST.arm("both", abduction=12, flexion=172, elbow=3).spine(flexion=-10).head(pitch=-18),
        root=(0.0, 0.04, 0.0), toes=(28, 28)),
    Key(0.9, REST)], _params(side="both"), (
    "{subj} stretches both arms up over their head.",
    "{subj} reaches up high and stretches{adv} on tiptoe.",
    "{subj} does a full-body stretch with arms overhead.",
    "{subj} stretches upward, then relaxes.",
), locomotion="feet")
_action("side_stretch", lambda p, r: _sided([
    STAND, Key(0.9, REST.arm("right", abduction=170, elbow=10).arm("left", abduction=10, elbow=20).spine(lateral=22)),
    Key(0.6 + p["hold"], REST.arm("right", abduction=172, elbow=8).arm("left", abduction=8, elbow=20).spine(lateral=26)),
    Key(0.9, REST)], p["side"]), _params(), (
    "{subj} leans to the {side} in a side stretch.",
    "{subj} bends sideways toward the {side} with one arm over their head.",
    "{subj} stretches their side, leaning {side}{adv}.",
    "{subj} reaches over their head and bends to the {side}.",
))
_action("reach_up", lambda p, r: _sided([
    STAND, Key(0.7, REST.arm("left", abduction=10, flexion=172, elbow=5).spine(lateral=-6, flexion=-4)
           .head(pitch=-20), root=(0.0, 0.04, 0.0), toes=(30, 30)),
    Key(0.4 + p["hold"], REST.arm("left", abduction=8, flexion=175, elbow=3).spine(lateral=-8, flexion=-5)
        .head(pitch=-22), root=(0.0, 0.05, 0.0), toes=(32, 32)),
    Key(0.7, REST)], p["side"]), _params(sides=("right", "right", "left")), (
    "{subj} reaches up for something on a high shelf with {hand}.",
    "{subj} stands on tiptoe and stretches {arm} up{adv}.",
    "{subj} reaches upward with {hand} to grab something.",
    "{subj} raises {hand} high, reaching as far as they can.",
), locomotion="feet")
_action("touch_toes", lambda p, r: [
    STAND, Key(1.0, REST.pelvis(pitch=60).spine(flexion=25).arm("both", flexion=80, elbow=5).head(pitch=10),
               root=(0.0, -0.06, -0.1)),
    Key(0.5 + p["hold"], REST.pelvis(pitch=60).spine(flexion=28).arm("both", flexion=85, elbow=5),
        root=(0.0, -0.07, -0.11)),
    Key(1.0, REST)], _params(side="both", speed=(0.7, 1.1)), (
    "{subj} bends forward and touches their toes.",
    "{subj} bends down{adv} to touch the floor with straight legs.",
    "{subj} stretches their hamstrings by reaching for their toes.",
    "{subj} folds forward at the hips and reaches down.",
))
_action("bend_over", lambda p, r: [
    STAND, Key(0.8, REST.pelvis(pitch=45).spine(flexion=10).arm("both", flexion=5, elbow=10).head(pitch=10),
               root=(0.0, -0.02, -0.06)),
    Key(0.5 + p["hold"], REST.pelvis(pitch=48).spine(flexion=12).head(pitch=12), root=(0.0, -0.02, -0.07)),
    Key(0.8, REST)], _params(side="both"), (
    "{subj} bends over at the waist and looks at the floor.",
    "{subj} bends far forward from the hips{adv}.",
    "{subj} leans over deeply and straightens up again.",
    "{subj} bends down at the waist and comes back up.",
))


def _pick_up_keys(p, r):
    s = p["side"]
    down = (REST.pelvis(pitch=45).spine(flexion=15).head(pitch=15).arm("left", flexion=75, abduction=5, elbow=10)
            .arm("right", flexion=20, abduction=15, elbow=30))
    hold = REST.arm("left", flexion=40, abduction=5, elbow=80)
    keys = [STAND, Key(1.0, down, root=(0.0, -0.32, -0.12)), Key(0.4, down, root=(0.0, -0.34, -0.12)),
            Key(1.0, hold), Key(0.3 + p["hold"], hold), Key(0.6, REST)]
    return _sided(keys, s)


_action("pick_up", _pick_up_keys, _params(sides=("right", "right", "left"), speed=(0.7, 1.2)), (
    "{subj} bends down and picks something up from the floor with {hand}.",
    "{subj} crouches to pick up an object{adv} and stands back up.",
    "{subj} reaches down to the ground with {hand} and lifts something.",
    "{subj} squats, grabs something off the floor, and rises holding it.",
), region="body")


def _push_pull_keys(p, r, push: bool):
    near = REST.arm("both", abduction=15, flexion=70, elbow=110).spine(flexion=4)
    far = REST.arm("both", abduction=12, flexion=85, elbow=10).spine(flexion=12)
    lean = 0.08 * (1 if push else -1)
    start, end = (near, far) if push else (far, near)
    keys = [STAND, Key(0.6, start, root=(0.0, -0.04, 0.0), right=(0.0, 0.0, -0.25) if push else ZERO,
                       left=ZERO if push else (0.0, 0.0, 0.25))]
    for _ in range(max(1, p["repetitions"])):
        keys += [Key(0.7, end.spine(flexion=14 if push else -6), root=(0.0, -0.06, lean),
                     right=(0.0, 0.0, -0.25) if push else ZERO, left=ZERO if push else (0.0, 0.0, 0.25)),
                 Key(0.4, start, root=(0.0, -0.04, 0.0), right=(0.0, 0.0, -0.25) if push else ZERO,
                     left=ZERO if push else (0.0, 0.0, 0.25))]
    keys.append(Key(0.6, REST))
    return keys


_action("push", lambda p, r: _push_pull_keys(p, r, True), _params(side="both", reps=(1, 2)), (
    "{subj} pushes something heavy in front of {obj} with both hands.",
    "{subj} leans in and pushes forward{adv}.",
    "{subj} shoves a door open with both arms.",
    "{subj} braces their back foot and pushes{times}.",
), locomotion="feet")
_action("pull", lambda p, r: _push_pull_keys(p, r, False), _params(side="both", reps=(1, 2)), (
    "{subj} pulls a rope toward {obj} with both hands.",
    "{subj} leans back and pulls something heavy{adv}.",
    "{subj} grabs something in front and pulls it in{times}.",
    "{subj} tugs hard on something with both arms.",
), locomotion="feet")


def _throw_keys(p, r):
    windup = REST.arm("left", abduction=80, flexion=-30, twist=60, elbow=90).arm("right", flexion=25, elbow=25) \
        .spine(twist=30, lateral=-5)
    release = REST.arm("left", abduction=40, flexion=120, twist=-20, elbow=15).arm("right", flexion=5, elbow=20) \
        .spine(twist=-25, flexion=12)
    keys = [STAND, Key(0.6, windup, root=(0.0, -0.04, -0.03), right=(0.0, 0.0, 0.2)),
            Key(0.25, release, root=(0.0, -0.06, 0.1), right=(0.0, 0.0, 0.3), ease="out"),
            Key(0.5, REST.arm("left", flexion=40, elbow=30).spine(flexion=8), root=(0.0, -0.04, 0.1),
                right=(0.0, 0.0, 0.3)),
            Key(0.7, REST, right=(0.0, 0.0, 0.3), root=(0.0, 0.0, 0.12))]
    return _sided(keys, p["side"])


_action("throw", _throw_keys, _params(sides=("right", "right", "left")), (
    "{subj} throws a ball overhand with {hand}.",
    "{subj} winds up and throws something far{adv}.",
    "{subj} steps forward and throws with {arm}.",
    "{subj} pitches a ball with {hand}.",
), locomotion="feet", region="body")


def _punch_keys(p, r):
    guard = REST.arm("both", abduction=20, flexion=60, elbow=120).spine(flexion=5)
    keys = [STAND, Key(0.4, guard, root=(0.0, -0.05, 0.0), right=(0.0, 0.0, -0.2))]
    for _ in range(max(1, p["repetitions"])):
        keys += [Key(0.15, guard.arm("left", abduction=8, flexion=90, elbow=5).spine(twist=-20),
                     root=(0.0, -0.05, 0.03), right=(0.0, 0.0, -0.2), ease="out"),
                 Key(0.25, guard, root=(0.0, -0.05, 0.0), right=(0.0, 0.0, -0.2))]
    keys.append(Key(0.5, REST))
    return _sided(keys, p["side"])


_action("punch", _punch_keys, _params(sides=("right", "right", "left"), reps=(1, 4)), (
    "{subj} throws a punch with {hand}{times}.",
    "{subj} punches straight ahead{adv} with {poss} {side} fist.",
    "{subj} raises their fists and jabs with the {side}.",
    "{subj} boxes, punching forward with {arm}.",
), locomotion="feet")


def _arm_circle_keys(p, r):
    keys = [STAND]
    for _ in range(max(1, p["repetitions"])):
        for az in (0, 90, 180, 270):
            el = 90 + 40 * np.sin(np.radians(az))
            keys.append(Key(0.25, REST.arm("both", abduction=el, flexion=25 * np.cos(np.radians(az)), elbow=5),
                            ease="sine"))
    keys.append(Key(0.6, REST))
    return keys


_action("arm_circles", _arm_circle_keys, _params(side="both", reps=(2, 4)), (
    "{subj} makes circles with both arms held out to the sides.",
    "{subj} rotates their outstretched arms in circles{adv}.",
    "{subj} warms up with arm circles{times}.",
    "{subj} swings both arms around in small circles.",
))
_action("tiptoe", lambda p, r: _cycle(p, [STAND], [
    Key(0.5, REST.spine(flexion=-3), root=(0.0, 0.07, 0.0), toes=(35, 35)),
    Key(0.4, REST, root=(0.0, 0.0, 0.0))], [Key(0.3, REST)]), _params(side="both", reps=(1, 4)), (
    "{subj} rises up on their tiptoes{times}.",
    "{subj} stands on the balls of their feet{adv} and comes down.",
    "{subj} lifts their heels off the ground and lowers them.",
    "{subj} does calf raises{times}.",
), locomotion="feet", region="legs")
_action("stomp", lambda p, r: _sided(_cycle(p, [STAND], [
    Key(0.35, REST.arm("both", abduction=15, elbow=40).spine(flexion=5), left=(0.0, 0.3, 0.05)),
    Key(0.12, REST.arm("both", abduction=20, elbow=30).spine(flexion=10), root=(0.0, -0.06, 0.0), ease="in"),
    Key(0.35, REST)], [Key(0.3, REST)]), p["side"]), _params(reps=(1, 3)), (
    "{subj} stomps their {side} foot{times}.",
    "{subj} raises their {side} foot and stamps it down angrily.",
    "{subj} stamps the ground with the {side} foot{adv}.",
    "{subj} stomps on something with their {side} foot.",
), locomotion="feet", region="legs")
_action("bounce", lambda p, r: _cycle(p, [STAND], [
    Key(0.22, REST.arm("both", abduction=10, elbow=30), root=(0.0, -0.07, 0.0)),
    Key(0.22, REST.arm("both", abduction=12, elbow=25), root=(0.0, 0.03, 0.0), toes=(20, 20))],
    [Key(0.4, REST)]), _params(side="both", reps=(3, 6)), (
    "{subj} bounces lightly on their feet{adv}.",
    "{subj} bobs up and down by bending their knees.",
    "{subj} bounces in place, ready to go.",
    "{subj} bounces on the spot to the beat{times}.",
), locomotion="feet", region="legs")
_action("shiver", lambda p, r: [STAND] + [
    Key(0.08, REST.arm("both", abduction=-5, flexion=30, elbow=120).collar("both", elevation=15)
        .spine(flexion=8, twist=(-1) ** i * 3).head(pitch=10), root=(0.0, -0.04, 0.0)) for i in range(14)
] + [Key(0.6, REST)], _params(side="both", speed=(0.8, 1.2)), (
    "{subj} shivers from the cold, hugging themselves.",
    "{subj} hunches their shoulders and trembles.",
    "{subj} shakes with cold, arms pulled in.",
    "{subj} shivers{adv}.",
))
_action("look_up", lambda p, r: [STAND, Key(0.7, REST.head(pitch=-35).spine(flexion=-6)),
                                 Key(0.6 + p["hold"], REST.head(pitch=-38).spine(flexion=-7)), Key(0.7, REST)],
        _params(side="both"), (
    "{subj} looks up at the sky.",
    "{subj} tilts their head back and looks upward{adv}.",
    "{subj} raises their eyes and looks at the ceiling.",
    "{subj} gazes up above {obj}.",
), region="head")
_action("look_down", lambda p, r: [STAND, Key(0.7, REST.head(pitch=35).spine(flexion=8)),
                                   Key(0.6 + p["hold"], REST.head(pitch=38).spine(flexion=9)), Key(0.7, REST)],
        _params(side="both"), (
    "{subj} looks down at the floor.",
    "{subj} lowers their head and looks down{adv}.",
    "{subj} glances down at their feet.",
    "{subj} bows their head and looks at the ground.",
), region="head")
_action("kneel", lambda p, r: _sided([
    STAND, Key(0.6, REST.pelvis(pitch=10), right=(0.0, 0.05, -0.3)),
    Key(1.0, REST.pelvis(pitch=5).arm("both", flexion=20, elbow=40), root=(0.0, -0.45, -0.05), left=(0.0, 0.0, 0.15),
        right=(0.0, 0.05, -0.42), toes=(0, 50)),
    Key(0.6 + p["hold"], REST.pelvis(pitch=5).arm("both", flexion=20, elbow=40), root=(0.0, -0.45, -0.05),
        left=(0.0, 0.0, 0.15), right=(0.0, 0.05, -0.42), toes=(0, 50)),
    Key(1.0, REST.pelvis(pitch=20), right=(0.0, 0.02, -0.2)), Key(0.5, REST)], p["side"]),
    _params(speed=(0.7, 1.1)), (
    "{subj} kneels down on one knee, {side} foot forward, and gets back up.",
    "{subj} goes down on one knee{adv}.",
    "{subj} drops to one knee and rises again.",
    "{subj} kneels briefly, keeping the {side} foot in front.",
), locomotion="feet", region="legs")
