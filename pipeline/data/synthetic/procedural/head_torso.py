"""Head and torso actions: nodding, shaking the head, bowing, leaning, looking around, idle sway.
The legs are never keyed: when the pelvis tips or sways, leg IK keeps the feet planted."""

from __future__ import annotations

import numpy as np

from .build import Timeline, animate, base_params
from .easing import envelope, oscillation
from .motion import Motion
from .pose import NECK, PELVIS, SPINE, SPINE_WEIGHTS, Pose, sides, toward
from .registry import register

REST = Pose()


def _add_spine(motion: Motion, channel: int, values: np.ndarray) -> None:
    for j, w in zip(SPINE, SPINE_WEIGHTS):
        motion.angles[:, j, channel] += w * values


def sample_nod(rng: np.random.Generator) -> dict:
    return base_params(rng, side="both", repetitions=(1, 4), speed=(0.7, 1.5))


def build_nod(params: dict, rng: np.random.Generator) -> Motion:
    """The head dips and comes back up `repetitions` times; the upper spine joins a little."""
    reps, amp = params["repetitions"], params["amplitude"]
    tl = Timeline(params, rng)
    t0 = tl.now
    period = rng.uniform(0.45, 0.6)
    t1 = tl.after(period * reps)
    motion = tl.motion()
    u = np.clip((motion.t - t0) / (t1 - t0), 0.0, 1.0)
    dips = 0.5 - 0.5 * np.cos(2 * np.pi * reps * u)
    decay = 1.0 - 0.35 * u  # later nods are a little smaller
    pitch = rng.uniform(12, 18) * amp * dips * decay
    motion.angles[:, NECK, 0] += pitch
    _add_spine(motion, 0, 0.2 * pitch)
    return motion


register("nod", build_nod, sample_nod, (
    "{subj} nods their head{times}.",
    "{subj} nods in agreement{adv}.",
    "{subj} moves their head up and down to say yes.",
    "{subj} nods yes{times}.",
), region="head")


def build_shake_head(params: dict, rng: np.random.Generator) -> Motion:
    """The head turns side to side (no), slightly bowed; the chest barely follows."""
    reps, amp = params["repetitions"], params["amplitude"]
    tl = Timeline(params, rng)
    t0 = tl.now
    t1 = tl.after(rng.uniform(0.5, 0.7) * reps)
    motion = tl.motion()
    yaw = rng.uniform(20, 32) * amp * oscillation(motion.t, t0, t1, reps, fade=0.12)
    motion.angles[:, NECK, 2] += yaw
    motion.angles[:, NECK, 0] += 5.0 * envelope(motion.t, t0 - 0.1, 0.3, t1 + 0.2, 0.4)
    _add_spine(motion, 2, 0.1 * yaw)
    return motion


register("shake_head", build_shake_head,
         lambda rng: base_params(rng, side="both", repetitions=(2, 4), speed=(0.7, 1.5)), (
    "{subj} shakes their head no.",
    "{subj} shakes their head from side to side{adv}.",
    "{subj} turns their head left and right in disagreement.",
    "{subj} disapproves by shaking their head{times}.",
), region="head")


def _tip_forward(params: dict, rng: np.random.Generator, hip: float, spine: float, head: float,
                 rise: float, hold: float, fall: float, arms_hang: bool = True) -> Motion:
    """Trunk tipped forward about the hips, held, raised: the hips shift back for balance and
    the arms keep hanging toward the floor."""
    target = REST.pelvis(pitch=hip).spine(flexion=spine).head(pitch=head)
    if arms_hang:
        target = target.arm("both", flexion=REST.angles[16, 1] + 0.8 * (hip + spine))
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(rise)
    t_off = tl.after(hold)
    t_end = tl.after(fall)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, target, target, REST],
                     ["sine", "sine", "smootherstep"], rng)
    tip = np.radians(motion.angles[:, PELVIS, 0] + 0.5 * motion.angles[:, list(SPINE), 0].sum(-1))
    motion.root[:, 2] -= 0.14 * np.sin(np.clip(tip, 0.0, None))
    return motion


def build_bow(params: dict, rng: np.random.Generator) -> Motion:
    amp = params["amplitude"]
    return _tip_forward(params, rng, hip=rng.uniform(18, 30) * amp, spine=rng.uniform(10, 22) * amp,
                        head=rng.uniform(8, 16), rise=0.9, hold=params["hold"], fall=1.0)


register("bow", build_bow, lambda rng: base_params(rng, side="both", speed=(0.6, 1.4)), (
    "{subj} bows politely.",
    "{subj} bends forward at the waist in a bow{adv}.",
    "{subj} takes a bow and stands back up.",
    "{subj} bows to the audience.",
), region="torso")


def build_lean_forward(params: dict, rng: np.random.Generator) -> Motion:
    """A listener's lean: the chest comes forward while the eyes stay on the speaker."""
    amp = params["amplitude"]
    hip, spine = rng.uniform(5, 10) * amp, rng.uniform(8, 14) * amp
    return _tip_forward(params, rng, hip=hip, spine=spine, head=-0.6 * (hip + spine), rise=0.9,
                        hold=params["hold"] + 1.2, fall=0.9, arms_hang=False)


register("lean_forward", build_lean_forward,
         lambda rng: base_params(rng, side="both", speed=(0.6, 1.3)), (
    "{subj} leans forward to listen closely.",
    "{subj} bends their upper body forward toward someone.",
    "{subj} leans in{adv} and then straightens up.",
    "{subj} tilts their torso forward with interest.",
), region="torso")


def sample_look_around(rng: np.random.Generator) -> dict:
    p = base_params(rng, side="both", repetitions=(2, 3), speed=(0.6, 1.3))
    p["first"] = str(rng.choice(["left", "right"]))
    p["count_matters"] = False
    return p


def build_look_around(params: dict, rng: np.random.Generator) -> Motion:
    """Looks to one side, then the other (maybe back), head leading and the chest following."""
    amp = params["amplitude"]
    tl = Timeline(params, rng)
    times, poses = [tl.now], [REST]
    direction = toward(params["first"])
    for _ in range(params["repetitions"]):
        yaw = direction * rng.uniform(40, 62) * amp
        look = REST.head(yaw=yaw, pitch=rng.uniform(-8, 5)).spine(twist=0.25 * yaw)
        times += [tl.after(0.6), tl.after(rng.uniform(0.3, 0.8))]
        poses += [look, look]
        direction = -direction
    times.append(tl.after(0.7))
    poses.append(REST)
    return animate(tl.motion(), times, poses, "smootherstep", rng, lag=1.5)


register("look_around", build_look_around, sample_look_around, (
    "{subj} looks around, turning their head left and right.",
    "{subj} glances to the {first} and then to the other side.",
    "{subj} looks around the room{adv}.",
    "{subj} turns their head to look to both sides.",
), region="head")


def build_head_tilt(params: dict, rng: np.random.Generator) -> Motion:
    side, amp = params["side"], params["amplitude"]
    target = REST.head(roll=toward(side) * rng.uniform(12, 22) * amp, pitch=rng.uniform(-4, 6),
                       yaw=toward(side) * rng.uniform(0, 8))
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(0.6)
    t_off = tl.after(params["hold"] + 0.6)
    t_end = tl.after(0.7)
    return animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, target, target, REST],
                   ["back", "sine", "smootherstep"], rng)


register("head_tilt", build_head_tilt, lambda rng: base_params(rng, sides=("left", "right")), (
    "{subj} tilts their head to the {side} curiously.",
    "{subj} cocks their head to one side.",
    "{subj} leans their head toward their {side} shoulder and back.",
    "{subj} tilts their head{adv} as if puzzled.",
), region="head")


def sample_sway(rng: np.random.Generator) -> dict:
    p = base_params(rng, side="both", repetitions=(1, 3), speed=(0.7, 1.3))
    p["count_matters"] = False
    return p


def build_idle_sway(params: dict, rng: np.random.Generator) -> Motion:
    """Standing at ease, shifting the weight from foot to foot; pelvis, chest and head balance it."""
    amp, reps = params["amplitude"], params["repetitions"]
    tl = Timeline(params, rng)
    t0 = tl.now
    t1 = tl.after(rng.uniform(2.2, 3.2) * reps)
    motion = tl.motion()
    shift = oscillation(motion.t, t0, t1, 0.5 * reps + 0.5 * (reps % 2 == 0), fade=0.6)
    shift *= rng.choice([-1.0, 1.0])
    motion.root[:, 0] += 0.04 * amp * shift
    motion.angles[:, PELVIS, 1] -= 3.0 * amp * shift      # the unloaded hip drops
    _add_spine(motion, 1, 4.0 * amp * shift)               # the chest leans back over the feet
    motion.angles[:, NECK, 1] -= 2.0 * amp * shift
    for s in sides("both"):
        motion.angles[:, 16 if s == "left" else 17, 0] += 2.0 * toward(s) * amp * shift
    return motion


register("idle_sway", build_idle_sway, sample_sway, (
    "{subj} stands idle, shifting their weight from side to side.",
    "{subj} sways gently while standing in place.",
    "{subj} stands relaxed and shifts weight between their feet.",
    "{subj} waits, rocking slightly from one foot to the other.",
), region="torso")
