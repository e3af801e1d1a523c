# Configures a fresh Redmine database for the integration tests (run by setup.sh with
# `rails runner`): REST API on, no mail, a bot user and a human user with known API keys,
# a project with the Support tracker. Default data gives New=1, In Progress=2, Resolved=3,
# Closed=5 and tracker Support=3.
bot_key, human_key = ARGV

Setting.rest_api_enabled = '1'
Setting.login_required = '1'
Setting.notified_events = []
Setting.mail_from = 'redmine@localhost'

def person(login, first, last, key)
  user = User.find_by_login(login) || User.new
  user.login = login
  user.firstname = first
  user.lastname = last
  user.mail = "#{login}@example.com"
  user.admin = true
  user.status = User::STATUS_ACTIVE
  user.mail_notification = 'none'
  user.password = user.password_confirmation = "#{login}-#{key[0, 8]}"
  user.save!
  Token.where(user_id: user.id, action: 'api').delete_all
  # The token's value is generated on create; the tests need a known one.
  token = Token.create!(user: user, action: 'api')
  token.update_column(:value, key)
  user
end

person('honoroit', 'Honoroit', 'Bot', bot_key)
person('olive', 'Olive', 'Operator', human_key)

project = Project.find_by_identifier('helpdesk') || Project.new
project.name = 'Helpdesk'
project.identifier = 'helpdesk'
project.is_public = false
project.tracker_ids = Tracker.pluck(:id)
project.enabled_module_names = ['issue_tracking']
project.save!
puts "configured: project #{project.identifier}, trackers #{project.tracker_ids.inspect}"
