extends Node
## The game state every peer has at the same path ("Board"): points per player, kept by the
## server (peer 1) and sent to everyone; a chat line any peer can send to any other.

signal changed
signal line(text: String)

## Peer id -> points; only the server changes it, everyone gets a copy.
var scores := {}


## A client asks the server for a point.
@rpc("any_peer", "call_remote", "reliable")
func add_point() -> void:
	if not multiplayer.is_server():
		return
	var who := multiplayer.get_remote_sender_id()
	scores[who] = scores.get(who, 0) + 1
	set_scores.rpc(scores)
	set_scores(scores)


## The server's copy of the scores, for everyone.
@rpc("authority", "call_remote", "reliable")
func set_scores(new_scores: Dictionary) -> void:
	scores = new_scores
	changed.emit()


## A chat line; between clients it goes through the server's relay.
@rpc("any_peer", "call_remote", "reliable")
func say(text: String) -> void:
	line.emit("peer %d: %s" % [multiplayer.get_remote_sender_id(), text])
